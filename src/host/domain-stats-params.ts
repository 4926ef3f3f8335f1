import type { DomainState } from '../shared/domain-state.js';
import type { DomainStats } from './domain-stats.js';
import type { TypedParam } from '../shared/api-types.js';

/** libvirt's virDomainState numbers (state.state). */
const STATE_NUMBER: Record<DomainState, number> = {
  nostate: 0,
  running: 1,
  blocked: 2,
  paused: 3,
  shutdown: 4,
  shutoff: 5,
  crashed: 6,
  pmsuspended: 7,
};

/** libvirt's reason numbers per state (virDomainRunningReason, virDomainPausedReason, ...), for ferry's reason words. */
const REASON_NUMBER: Partial<Record<DomainState, Record<string, number>>> = {
  running: { unknown: 0, booted: 1, migrated: 2, restored: 3, unpaused: 5, 'migration canceled': 6, crashed: 9, 'post-copy': 10 },
  paused: {
    unknown: 0,
    user: 1,
    migrating: 2,
    'I/O error': 5,
    watchdog: 6,
    'shutting down': 8,
    crashed: 10,
    'starting up': 11,
    'post-copy': 12,
    'post-copy failed': 13,
  },
  shutdown: { unknown: 0, user: 1 },
  shutoff: { unknown: 0, shutdown: 1, destroyed: 2, crashed: 3, migrated: 4, saved: 5, failed: 6, daemon: 8 },
  crashed: { unknown: 0, panicked: 1 },
};

export function libvirtState(state: DomainState): number {
  return STATE_NUMBER[state];
}

/** A reason libvirt has no number for (ferry's paused "lock failure") is 0, unknown. */
export function libvirtReason(state: DomainState, reason: string): number {
  return REASON_NUMBER[state]?.[reason] ?? 0;
}

/** dommemstat's tags in the order libvirt's balloon group lists them, and the domstats name where it differs. */
const BALLOON_ORDER: ReadonlyArray<[tag: string, field: string]> = [
  ['swap_in', 'swap_in'],
  ['swap_out', 'swap_out'],
  ['major_fault', 'major_fault'],
  ['minor_fault', 'minor_fault'],
  ['unused', 'unused'],
  ['available', 'available'],
  ['rss', 'rss'],
  ['usable', 'usable'],
  ['last_update', 'last-update'],
  ['disk_caches', 'disk_caches'],
  ['hugetlb_pgalloc', 'hugetlb_pgalloc'],
  ['hugetlb_pgfail', 'hugetlb_pgfail'],
];

/**
 * A domain's statistics as libvirt's virConnectGetAllDomainStats gives them:
 * typed parameters named as virsh domstats prints them (state.state,
 * cpu.time, balloon.current, vcpu.0.state, net.0.rx.bytes, block.0.rd.bytes).
 */
export function statsParams(s: DomainStats): TypedParam[] {
  const out: TypedParam[] = [];
  const add = (field: string, value: number | string | undefined): void => {
    if (value !== undefined) out.push({ field, value });
  };
  if (s.state) {
    add('state.state', s.state.state);
    add('state.reason', s.state.reason);
  }
  if (s.cpu) {
    add('cpu.time', s.cpu.time);
    add('cpu.user', s.cpu.user);
    add('cpu.system', s.cpu.system);
  }
  if (s.balloon) {
    add('balloon.current', s.balloon.current);
    add('balloon.maximum', s.balloon.maximum);
    for (const [tag, field] of BALLOON_ORDER) add(`balloon.${field}`, s.balloon.guest.find((g) => g.tag === tag)?.value);
  }
  if (s.vcpu) {
    add('vcpu.current', s.vcpu.current);
    add('vcpu.maximum', s.vcpu.maximum);
    for (const v of s.vcpu.vcpus) {
      add(`vcpu.${v.id}.state`, v.state);
      add(`vcpu.${v.id}.time`, v.time);
      add(`vcpu.${v.id}.wait`, v.wait);
    }
  }
  if (s.net) {
    add('net.count', s.net.length);
    s.net.forEach((n, i) => {
      add(`net.${i}.name`, n.name);
      const c = n.counters;
      if (!c) return;
      add(`net.${i}.rx.bytes`, c.rx_bytes);
      add(`net.${i}.rx.pkts`, c.rx_packets);
      add(`net.${i}.rx.errs`, c.rx_errs);
      add(`net.${i}.rx.drop`, c.rx_drop);
      add(`net.${i}.tx.bytes`, c.tx_bytes);
      add(`net.${i}.tx.pkts`, c.tx_packets);
      add(`net.${i}.tx.errs`, c.tx_errs);
      add(`net.${i}.tx.drop`, c.tx_drop);
    });
  }
  if (s.block) {
    add('block.count', s.block.length);
    s.block.forEach((b, i) => {
      add(`block.${i}.name`, b.name);
      add(`block.${i}.path`, b.path);
      add(`block.${i}.rd.reqs`, b.rd.reqs);
      add(`block.${i}.rd.bytes`, b.rd.bytes);
      add(`block.${i}.rd.times`, b.rd.times);
      add(`block.${i}.wr.reqs`, b.wr.reqs);
      add(`block.${i}.wr.bytes`, b.wr.bytes);
      add(`block.${i}.wr.times`, b.wr.times);
      add(`block.${i}.fl.reqs`, b.fl.reqs);
      add(`block.${i}.fl.times`, b.fl.times);
      add(`block.${i}.allocation`, b.allocation);
      add(`block.${i}.capacity`, b.capacity);
      add(`block.${i}.physical`, b.physical);
    });
  }
  return out;
}
