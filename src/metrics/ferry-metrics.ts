import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DomainStats } from '../host/domain-stats.js';
import type { InterfaceStats } from '../shared/api-types.js';
import { type DomainState, STATE_REASONS } from '../shared/domain-state.js';

/** How a migration ended, as its final phase says. */
export type MigrationOutcome = 'succeeded' | 'failed' | 'cancelled';

/** A finished migration, on one side: `out` on the source, `in` on the destination. */
export interface FinishedMigration {
  direction: 'out' | 'in';
  outcome: MigrationOutcome;
  totalSeconds: number;
  downtimeSeconds?: number;
  bytes?: number;
}

/** What migration code records (an optional dependency: tests that build a service by hand leave it out). */
export interface MigrationMetrics {
  migrationFinished(m: FinishedMigration): void;
}

export interface PreflightMetrics {
  preflightFailed(check: string): void;
}

export interface ApiMetrics {
  apiRequest(r: { method: string; route: string; status: number; seconds: number }): void;
}

/** What a scrape reads at that moment. */
export interface MetricSources {
  /** Every defined domain's state and, for running ones, its counters. */
  domains(): Promise<Array<{ state: DomainState; stats: DomainStats }>>;
  /** ferry-lockd's health; absent with lock_manager = "nop" (then neither lockd series is exported). */
  lockd?: () => Promise<{ up: boolean; leases: number }>;
}

const KIB = 1024;
const NS = 1e-9;

/** dommemstat tags of the guest's own memory statistics that are sizes in KiB (now), and those that count up. */
const BALLOON_SIZES = ['unused', 'available', 'usable', 'disk_caches'];

/**
 * ferryd's Prometheus metrics: one registry per daemon (built in compose.ts
 * and passed down; nothing module-wide). Event metrics (migrations,
 * pre-flight failures, API latency) are recorded where they happen; the
 * domains' counters and lockd's health are read at each scrape.
 */
export class FerryMetrics implements MigrationMetrics, PreflightMetrics, ApiMetrics {
  readonly registry = new Registry();
  private snapshot: { domains: Array<{ state: DomainState; stats: DomainStats }>; lockd: { up: boolean; leases: number } | undefined } = {
    domains: [],
    lockd: undefined,
  };
  private readonly migrations: Counter<'direction' | 'outcome'>;
  private readonly migrationSeconds: Histogram<'direction' | 'outcome'>;
  private readonly migrationDowntime: Histogram<'direction' | 'outcome'>;
  private readonly migrationBytes: Histogram<'direction' | 'outcome'>;
  private readonly preflight: Counter<'check'>;
  private readonly api: Histogram<'method' | 'route' | 'status_code'>;

  constructor(private readonly sources: MetricSources) {
    const registers = [this.registry];
    const byOutcome = ['direction', 'outcome'] as const;
    this.migrations = new Counter({
      name: 'ferry_migrations_total',
      help: 'Migrations finished, by direction (out: this host was the source) and outcome',
      labelNames: byOutcome,
      registers,
    });
    this.migrationSeconds = new Histogram({
      name: 'ferry_migration_duration_seconds',
      help: 'Total time of finished migrations, from Begin to the final phase',
      labelNames: byOutcome,
      registers,
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
    });
    this.migrationDowntime = new Histogram({
      name: 'ferry_migration_downtime_seconds',
      help: 'Downtime of finished migrations, as QEMU measured it',
      labelNames: byOutcome,
      registers,
      buckets: [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10],
    });
    this.migrationBytes = new Histogram({
      name: 'ferry_migration_transferred_bytes',
      help: 'Bytes a finished migration sent (memory and copied disks)',
      labelNames: byOutcome,
      registers,
      buckets: [16, 64, 256, 1024, 4096, 16384, 65536, 262144].map((mib) => mib * 1024 * 1024),
    });
    this.preflight = new Counter({ name: 'ferry_preflight_failures_total', help: 'Pre-flight checks that failed, by check', labelNames: ['check'], registers });
    this.api = new Histogram({
      name: 'ferry_api_request_duration_seconds',
      help: 'API requests, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.scrapeTimeMetrics(registers);
  }

  migrationFinished(m: FinishedMigration): void {
    const labels = { direction: m.direction, outcome: m.outcome };
    this.migrations.inc(labels);
    this.migrationSeconds.observe(labels, m.totalSeconds);
    if (m.downtimeSeconds !== undefined) this.migrationDowntime.observe(labels, m.downtimeSeconds);
    if (m.bytes !== undefined) this.migrationBytes.observe(labels, m.bytes);
  }

  preflightFailed(check: string): void {
    this.preflight.inc({ check });
  }

  apiRequest(r: { method: string; route: string; status: number; seconds: number }): void {
    this.api.observe({ method: r.method, route: r.route, status_code: String(r.status) }, r.seconds);
  }

  /** One scrape: reads the domains and lockd once, then renders every metric in the text format. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const [domains, lockd] = await Promise.all([this.sources.domains(), this.sources.lockd?.()]);
    this.snapshot = { domains, lockd };
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Gauges and counters whose value is read at scrape time: each collect() copies from the snapshot. */
  private scrapeTimeMetrics(registers: Registry[]): void {
    const snap = (): typeof this.snapshot => this.snapshot;
    const running = (): DomainStats[] => snap().domains.map((d) => d.stats);
    const gauge = (name: string, help: string, labelNames: string[], fill: (set: (labels: Record<string, string>, v: number) => void) => void): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill((labels, v) => this.set(labels, v));
        },
      });
    };
    // A counter read from elsewhere: reset, then raised to the value read.
    const counter = (name: string, help: string, labelNames: string[], fill: (set: (labels: Record<string, string>, v: number) => void) => void): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill((labels, v) => this.inc(labels, Math.max(0, v)));
        },
      });
    };

    gauge('ferry_domains', 'Defined domains, by state', ['state'], (set) => {
      const count = new Map<string, number>(Object.keys(STATE_REASONS).map((s) => [s, 0]));
      for (const d of snap().domains) count.set(d.state, (count.get(d.state) ?? 0) + 1);
      for (const [state, n] of count) set({ state }, n);
    });
    // Registered only with lockd: a gauge without labels always shows a value, and 0 would read as "lockd is down".
    if (this.sources.lockd)
      gauge('ferry_lockd_up', 'Whether ferry-lockd answers (1) or not (0); absent with lock_manager = "nop"', [], (set) => {
        const l = snap().lockd;
        if (l) set({}, l.up ? 1 : 0);
      });
    if (this.sources.lockd)
      gauge('ferry_leases_held', "Disk leases ferry-lockd holds for this host's domains", [], (set) => {
        const l = snap().lockd;
        if (l?.up) set({}, l.leases);
      });

    counter('ferry_domain_cpu_seconds_total', "CPU time of the domain's QEMU process, by mode (user, system)", ['domain', 'mode'], (set) => {
      for (const s of running()) {
        if (!s.cpu) continue;
        set({ domain: s.name, mode: 'user' }, s.cpu.user * NS);
        set({ domain: s.name, mode: 'system' }, s.cpu.system * NS);
      }
    });
    counter('ferry_domain_vcpu_seconds_total', 'CPU time of each vCPU thread', ['domain', 'vcpu'], (set) => {
      for (const s of running()) for (const v of s.vcpu?.vcpus ?? []) if (v.time !== undefined) set({ domain: s.name, vcpu: String(v.id) }, v.time * NS);
    });
    gauge('ferry_domain_memory_current_bytes', "The guest's current memory (the balloon's size while it runs)", ['domain'], (set) => {
      for (const s of running()) if (s.balloon) set({ domain: s.name }, s.balloon.current * KIB);
    });
    gauge('ferry_domain_memory_max_bytes', "The guest's maximum memory (<memory>)", ['domain'], (set) => {
      for (const s of running()) if (s.balloon) set({ domain: s.name }, s.balloon.maximum * KIB);
    });
    gauge('ferry_domain_memory_rss_bytes', "Resident memory of the domain's QEMU process", ['domain'], (set) => {
      for (const s of running()) {
        const rss = s.balloon?.guest.find((g) => g.tag === 'rss');
        if (rss) set({ domain: s.name }, rss.value * KIB);
      }
    });
    gauge(
      'ferry_domain_balloon_guest_bytes',
      "The guest's memory as its balloon driver reports it (unused, available, usable, disk_caches)",
      ['domain', 'stat'],
      (set) => {
        for (const s of running())
          for (const g of s.balloon?.guest ?? []) if (BALLOON_SIZES.includes(g.tag)) set({ domain: s.name, stat: g.tag }, g.value * KIB);
      },
    );
    counter(
      'ferry_domain_balloon_swap_bytes_total',
      'Memory the guest swapped in and out, as its balloon driver reports it',
      ['domain', 'direction'],
      (set) => {
        for (const s of running()) {
          for (const g of s.balloon?.guest ?? [])
            if (g.tag === 'swap_in' || g.tag === 'swap_out') set({ domain: s.name, direction: g.tag.slice(5) }, g.value * KIB);
        }
      },
    );
    counter(
      'ferry_domain_balloon_page_faults_total',
      'Page faults in the guest, as its balloon driver reports them (major, minor)',
      ['domain', 'type'],
      (set) => {
        for (const s of running()) {
          for (const g of s.balloon?.guest ?? [])
            if (g.tag === 'major_fault' || g.tag === 'minor_fault') set({ domain: s.name, type: g.tag.replace('_fault', '') }, g.value);
        }
      },
    );
    gauge('ferry_domain_balloon_last_update_timestamp_seconds', 'When the guest last reported its memory statistics (Unix time)', ['domain'], (set) => {
      for (const s of running()) {
        const t = s.balloon?.guest.find((g) => g.tag === 'last_update');
        if (t) set({ domain: s.name }, t.value);
      }
    });

    const blocks: Array<[string, string, (b: NonNullable<DomainStats['block']>[number]) => number | undefined]> = [
      ['ferry_domain_block_read_bytes_total', 'Bytes the guest read from the disk', (b) => b.rd.bytes],
      ['ferry_domain_block_write_bytes_total', 'Bytes the guest wrote to the disk', (b) => b.wr.bytes],
      ['ferry_domain_block_read_requests_total', 'Read requests of the guest on the disk', (b) => b.rd.reqs],
      ['ferry_domain_block_write_requests_total', 'Write requests of the guest on the disk', (b) => b.wr.reqs],
      ['ferry_domain_block_flush_requests_total', 'Flush requests of the guest on the disk', (b) => b.fl.reqs],
      ['ferry_domain_block_read_seconds_total', "Time the disk's reads took, summed", (b) => b.rd.times * NS],
      ['ferry_domain_block_write_seconds_total', "Time the disk's writes took, summed", (b) => b.wr.times * NS],
      ['ferry_domain_block_flush_seconds_total', "Time the disk's flushes took, summed", (b) => b.fl.times * NS],
    ];
    for (const [name, help, value] of blocks) {
      counter(name, `${help} (by disk target)`, ['domain', 'target'], (set) => {
        for (const s of running()) for (const b of s.block ?? []) set({ domain: s.name, target: b.name }, value(b) ?? 0);
      });
    }
    gauge('ferry_domain_block_capacity_bytes', "The disk's size as the guest sees it (by disk target)", ['domain', 'target'], (set) => {
      for (const s of running()) for (const b of s.block ?? []) if (b.capacity !== undefined) set({ domain: s.name, target: b.name }, b.capacity);
    });

    const nets: Array<[string, string, keyof InterfaceStats]> = [
      ['ferry_domain_net_receive_bytes_total', 'Bytes the guest received', 'rx_bytes'],
      ['ferry_domain_net_receive_packets_total', 'Packets the guest received', 'rx_packets'],
      ['ferry_domain_net_receive_errors_total', 'Receive errors', 'rx_errs'],
      ['ferry_domain_net_receive_drops_total', 'Received packets dropped', 'rx_drop'],
      ['ferry_domain_net_transmit_bytes_total', 'Bytes the guest sent', 'tx_bytes'],
      ['ferry_domain_net_transmit_packets_total', 'Packets the guest sent', 'tx_packets'],
      ['ferry_domain_net_transmit_errors_total', 'Transmit errors', 'tx_errs'],
      ['ferry_domain_net_transmit_drops_total', 'Sent packets dropped', 'tx_drop'],
    ];
    for (const [name, help, key] of nets) {
      counter(name, `${help} (by interface, from the guest's side)`, ['domain', 'interface'], (set) => {
        for (const s of running()) for (const n of s.net ?? []) if (n.counters) set({ domain: s.name, interface: n.name }, n.counters[key]);
      });
    }
  }
}
