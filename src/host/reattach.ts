import type { Logger } from 'pino';
import { QemuMonitor } from '../qemu/monitor.js';
import { commandLine, QemuProcess } from '../qemu/process.js';
import { connectQmpSocket } from '../qmp/transport.js';
import type { DomainRecord, DomainStore } from '../store/domain-store.js';
import type { DomainStatus } from '../shared/domain-state.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import type { DomainLauncher } from './domain-launcher.js';
import type { HostPaths } from './host-paths.js';
import type { HostService } from './host-service.js';
import { RunningDomain } from './running-domain.js';

export interface ReattachDeps {
  store: DomainStore;
  paths: HostPaths;
  service: HostService;
  launcher: DomainLauncher;
  log: Logger;
  /** How often a domain that could not be reached yet is tried again (ms). */
  retryMs?: number;
}

/** What one try found: followed again, gone (the kernel says so), or not known yet (tried again later). */
type Outcome = { result: 'reattached' } | { result: 'lost' } | { result: 'pending'; why: string };

/**
 * After a ferryd restart (even after SIGKILL), finds every QEMU the store says
 * is running, reconnects to its QMP socket and resumes following it. Only a
 * QEMU the kernel says is gone is recorded as shut off. One whose liveness
 * cannot be read (ferryd out of descriptors) or whose monitor does not answer
 * stays running in the store, keeps its leases and taps, and is tried again
 * until it answers or is gone: operations on it meanwhile fail with
 * QEMU_UNREACHABLE, and `start` refuses it as running.
 */
export class Reattacher {
  private readonly pending = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: ReattachDeps) {}

  /** The first pass, at start-up. */
  async run(): Promise<{ reattached: string[]; lost: string[]; pending: string[] }> {
    const out = { reattached: [] as string[], lost: [] as string[], pending: [] as string[] };
    for (const rec of this.deps.store.listActive()) {
      const o = await this.tryOne(rec);
      if (o.result === 'pending') out.pending.push(rec.name);
      else out[o.result].push(rec.name);
    }
    this.schedule();
    return out;
  }

  /** Names of the domains still waiting to be reached, with why. */
  unreachable(): Map<string, string> {
    return new Map(this.pending);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped || this.pending.size === 0) return;
    this.timer = setTimeout(() => void this.retry(), this.deps.retryMs ?? 2000);
    this.timer.unref();
  }

  private async retry(): Promise<void> {
    for (const uuid of [...this.pending.keys()]) {
      if (this.stopped) return;
      const rec = this.deps.store.get(uuid);
      if (!rec || rec.liveXml === null || this.deps.service.runningDomain(uuid)) {
        this.pending.delete(uuid);
        continue;
      }
      await this.tryOne(rec);
    }
    this.schedule();
  }

  private async tryOne(rec: DomainRecord): Promise<Outcome> {
    const log = this.deps.log.child({ vm: rec.name });
    let o: Outcome;
    try {
      o = await reattachOne(rec, this.deps, log);
    } catch (err) {
      o = { result: 'pending', why: (err as Error).message };
    }
    const was = this.pending.get(rec.uuid);
    if (o.result === 'pending') {
      this.pending.set(rec.uuid, o.why);
      if (was !== o.why) log.error({ why: o.why }, "cannot reach this running domain's QEMU yet: leaving it running and trying again");
    } else {
      this.pending.delete(rec.uuid);
      if (was !== undefined && o.result === 'reattached') log.info("reached the domain's QEMU again");
    }
    return o;
  }
}

async function reattachOne(rec: DomainRecord, deps: ReattachDeps, log: Logger): Promise<Outcome> {
  const live = parseDomainXml(rec.liveXml as string);
  const found = QemuProcess.find({ pid: rec.pid, pidfile: deps.paths.pidfile(rec.uuid), uuid: rec.uuid });
  if (found.found === 'unknown') return { result: 'pending', why: `cannot tell whether QEMU runs: ${found.why}` };
  if (found.found === 'gone') {
    log.warn({ why: found.why }, 'QEMU is gone since ferryd last ran');
    await deps.launcher.cleanup(live);
    deps.store.markStopped(rec.uuid, 'unknown');
    return { result: 'lost' };
  }
  const proc = found.process;
  let monitor: QemuMonitor;
  let qemu: { status: string };
  try {
    const transport = await connectQmpSocket(deps.paths.qmpSocket(rec.uuid), { timeoutMs: 5000 });
    monitor = await QemuMonitor.open(transport, { timeoutMs: 10_000 });
    qemu = await monitor.queryStatus().catch((err: unknown) => {
      monitor.close();
      throw err;
    });
  } catch (err) {
    proc.detach();
    return { result: 'pending', why: `QEMU (pid ${proc.pid}) runs but its monitor does not answer: ${(err as Error).message}` };
  }
  if (rec.state === 'paused' && rec.reason === 'starting up') {
    log.warn('the domain never finished starting: killing it');
    const vm = new RunningDomain({
      uuid: rec.uuid,
      name: rec.name,
      def: live,
      process: proc,
      monitor,
      status: { state: 'paused', reason: 'starting up' },
      log,
    });
    deps.service.adopt(vm);
    await vm.destroy('failed');
    return { result: 'lost' };
  }
  const status = statusFromQemu(qemu.status, rec);
  const argv = commandLine(proc.pid);
  const accel = argv[argv.indexOf('-accel') + 1]?.startsWith('kvm') ? 'kvm' : 'tcg';
  const vm = new RunningDomain({
    uuid: rec.uuid,
    name: rec.name,
    def: live,
    process: proc,
    monitor,
    status,
    log,
    accel,
    ...(monitor.version ? { qemuVersion: monitor.version } : {}),
  });
  deps.service.adopt(vm);
  if (status.state !== rec.state || status.reason !== rec.reason) deps.store.setState(rec.uuid, status.state, status.reason);
  log.info({ pid: proc.pid, state: status.state }, 'reattached to running QEMU');
  return { result: 'reattached' };
}

/** Reconciles QEMU's run state with what the store remembered. */
function statusFromQemu(qemu: string, rec: DomainRecord): DomainStatus {
  switch (qemu) {
    case 'running':
      return rec.state === 'running'
        ? { state: 'running', reason: rec.reason as DomainStatus['reason'] as 'booted' }
        : { state: 'running', reason: 'unpaused' };
    case 'guest-panicked':
      return { state: 'crashed', reason: 'panicked' };
    case 'shutdown':
      return { state: 'shutdown', reason: 'user' };
    case 'io-error':
      return { state: 'paused', reason: 'I/O error' };
    case 'inmigrate':
    case 'postmigrate':
    case 'finish-migrate':
      return { state: 'paused', reason: 'migrating' };
    default:
      return rec.state === 'paused' ? { state: 'paused', reason: rec.reason as 'user' } : { state: 'paused', reason: 'unknown' };
  }
}
