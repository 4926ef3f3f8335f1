import { child, childrenNamed, el, type XmlElement } from '../shared/xml.js';
import type { CpuBandwidth, CputuneDefinition, DomainDefinition, ThreadScheduler } from './definition.js';
import { canonicalCpuset, parseCpuset } from './cpuset.js';
import { xmlInvalid } from './xml-errors.js';
import { iothreadIdsOf } from './iothreads.js';

/**
 * The cgroup and scheduler parts of <cputune>: <shares>, the CFS bandwidth
 * pairs (period/quota for the vCPUs, the emulator, the iothreads and the whole
 * domain) and <vcpusched>/<iothreadsched>/<emulatorsched> (src/host/cgroup-tuning.ts applies them).
 */
const SCHED_POLICIES = ['fifo', 'rr', 'batch', 'idle'] as const;
const SCHED_ATTRS = { scheduler: SCHED_POLICIES, priority: true } as const;

export const CPU_TUNING_RULES = {
  shares: {},
  period: {},
  quota: {},
  global_period: {},
  global_quota: {},
  emulator_period: {},
  emulator_quota: {},
  iothread_period: {},
  iothread_quota: {},
  vcpusched: { attrs: { vcpus: true, ...SCHED_ATTRS } },
  iothreadsched: { attrs: { iothreads: true, ...SCHED_ATTRS } },
  emulatorsched: { attrs: SCHED_ATTRS },
} as const;

/** The kernel's cap on a CFS quota (libvirt's VIR_CGROUP_CPU_QUOTA_MAX, microseconds). */
export const QUOTA_MAX = 17592186044415;
export const PERIOD_MIN = 1000;
export const PERIOD_MAX = 1000000;

const PAIRS = [
  ['vcpu', 'period', 'quota'],
  ['global', 'global_period', 'global_quota'],
  ['emulator', 'emulator_period', 'emulator_quota'],
  ['iothread', 'iothread_period', 'iothread_quota'],
] as const;

type Group = (typeof PAIRS)[number][0];

function integer(text: string, name: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(n)) throw xmlInvalid(name, `invalid value '${text}' for cputune ${name}`);
  return n;
}

/** A period as libvirt checks it: 0 is unset, anything else in [1000, 1000000]. */
export function checkPeriod(n: number, name: string): void {
  if (n !== 0 && (n < PERIOD_MIN || n > PERIOD_MAX)) throw xmlInvalid('cputune', `Value of cputune '${name}' must be in range [${PERIOD_MIN}, ${PERIOD_MAX}]`);
}

/** A quota as libvirt checks it: negative is unlimited, 0 unset, else in [1000, 17592186044415]. */
export function checkQuota(n: number, name: string): void {
  if (n > 0 && (n < PERIOD_MIN || n > QUOTA_MAX)) throw xmlInvalid('cputune', `Value of cputune '${name}' must be in range [${PERIOD_MIN}, ${QUOTA_MAX}]`);
}

/** <shares> and the bandwidth pairs of a <cputune> (a period or quota of 0 is unset, as libvirt has it). */
export function parseCpuBandwidth(tune: XmlElement): { shares?: number; bandwidth?: Partial<Record<Group, CpuBandwidth>> } {
  const out: { shares?: number; bandwidth?: Partial<Record<Group, CpuBandwidth>> } = {};
  const shares = child(tune, 'shares');
  if (shares) {
    const n = integer(shares.text, 'shares');
    if (n < 0) throw xmlInvalid('shares', `invalid value '${shares.text}' for cputune shares`);
    out.shares = n;
  }
  for (const [group, periodName, quotaName] of PAIRS) {
    const p = child(tune, periodName);
    const q = child(tune, quotaName);
    const period = p ? integer(p.text, periodName) : 0;
    const quota = q ? integer(q.text, quotaName) : 0;
    if (period < 0) throw xmlInvalid(periodName, `invalid value '${p?.text}' for cputune ${periodName}`);
    checkPeriod(period, periodName);
    checkQuota(quota, quotaName);
    const b: CpuBandwidth = {};
    if (period !== 0) b.period = period;
    if (quota !== 0) b.quota = quota;
    if (b.period !== undefined || b.quota !== undefined) (out.bandwidth ??= {})[group] = b;
  }
  return out;
}

function parseScheduler(e: XmlElement): ThreadScheduler {
  const policy = e.attrs.scheduler;
  if (policy === undefined) throw xmlInvalid(e.name, 'missing scheduler attribute');
  if (!(SCHED_POLICIES as readonly string[]).includes(policy)) throw xmlInvalid(e.name, `Invalid thread scheduler policy '${policy}'`);
  const s: ThreadScheduler = { policy: policy as ThreadScheduler['policy'] };
  if (policy === 'fifo' || policy === 'rr') {
    if (e.attrs.priority === undefined) throw xmlInvalid(e.name, 'Missing scheduler priority');
    s.priority = integer(e.attrs.priority, e.name);
  }
  return s;
}

/** <vcpusched>, <iothreadsched>, <emulatorsched>: thread lists must not overlap and must name threads the domain has. */
export function parseThreadSchedulers(tune: XmlElement, def: DomainDefinition): Pick<CputuneDefinition, 'vcpuscheds' | 'iothreadscheds' | 'emulatorsched'> {
  const out: ReturnType<typeof parseThreadSchedulers> = {};
  const lists = (
    name: 'vcpusched' | 'iothreadsched',
    attr: 'vcpus' | 'iothreads',
    valid: (id: number) => boolean,
  ): Array<ThreadScheduler & { ids: string }> => {
    const seen = new Set<number>();
    return childrenNamed(tune, name).map((e) => {
      const text = e.attrs[attr];
      if (text === undefined) throw xmlInvalid(name, `missing '${attr}' attribute`);
      const ids = parseCpuset(text, name);
      for (const id of ids) {
        if (seen.has(id)) throw xmlInvalid(name, `${name} attributes '${attr}' must not overlap`);
        if (!valid(id)) throw xmlInvalid(name, `${attr === 'vcpus' ? 'vcpu' : 'iothread'} '${id}' of <${name}> does not exist`);
        seen.add(id);
      }
      return { ids: canonicalCpuset(text, name), ...parseScheduler(e) };
    });
  };
  const v = lists('vcpusched', 'vcpus', (id) => id < def.vcpus);
  if (v.length > 0) out.vcpuscheds = v;
  const threads = iothreadIdsOf(def);
  const i = lists('iothreadsched', 'iothreads', (id) => threads.includes(id));
  if (i.length > 0) out.iothreadscheds = i;
  const e = child(tune, 'emulatorsched');
  if (e) out.emulatorsched = parseScheduler(e);
  return out;
}

const schedAttrs = (s: ThreadScheduler): Record<string, string | undefined> => ({
  scheduler: s.policy,
  priority: s.priority === undefined ? undefined : String(s.priority),
});

/** <shares> and the bandwidth pairs, in libvirt's order (before the pins). */
export function renderCpuBandwidth(t: CputuneDefinition): XmlElement[] {
  const out: XmlElement[] = [];
  if (t.shares !== undefined) out.push(el('shares', {}, String(t.shares)));
  for (const [group, periodName, quotaName] of PAIRS) {
    const b = t.bandwidth?.[group];
    if (b?.period !== undefined) out.push(el(periodName, {}, String(b.period)));
    if (b?.quota !== undefined) out.push(el(quotaName, {}, String(b.quota)));
  }
  return out;
}

/** The scheduler elements, in libvirt's order (after the pins). */
export function renderThreadSchedulers(t: CputuneDefinition): XmlElement[] {
  return [
    ...(t.emulatorsched ? [el('emulatorsched', schedAttrs(t.emulatorsched))] : []),
    ...(t.vcpuscheds ?? []).map((s) => el('vcpusched', { vcpus: s.ids, ...schedAttrs(s) })),
    ...(t.iothreadscheds ?? []).map((s) => el('iothreadsched', { iothreads: s.ids, ...schedAttrs(s) })),
  ];
}

/** Whether a <cputune> asks for anything beyond pinning (a cgroup or a scheduler policy). */
export function hasCpuTuning(t: CputuneDefinition | undefined): boolean {
  return (
    t !== undefined &&
    (t.shares !== undefined || t.bandwidth !== undefined || t.vcpuscheds !== undefined || t.iothreadscheds !== undefined || t.emulatorsched !== undefined)
  );
}
