import type { Logger } from 'pino';
import { QemuMonitor } from '../qemu/monitor.js';
import { commandLine, QemuProcess } from '../qemu/process.js';
import { connectQmpSocket } from '../qmp/transport.js';
import type { DomainRecord, DomainStore } from '../store/domain-store.js';
import type { DomainStatus } from '../vm/domain-state.js';
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
}

/**
 * After a ferryd restart (even after SIGKILL), finds every QEMU the store says
 * is running, reconnects to its QMP socket and resumes following it. A QEMU
 * that is gone is recorded as shut off; one that never finished starting is killed.
 */
export async function reattachDomains(deps: ReattachDeps): Promise<{ reattached: string[]; lost: string[] }> {
  const reattached: string[] = [];
  const lost: string[] = [];
  for (const rec of deps.store.listActive()) {
    const log = deps.log.child({ vm: rec.name });
    try {
      if (await reattachOne(rec, deps, log)) reattached.push(rec.name);
      else lost.push(rec.name);
    } catch (err) {
      log.error({ err }, 'cannot reattach to QEMU; marking the domain shut off');
      deps.store.markStopped(rec.uuid, 'unknown');
      lost.push(rec.name);
    }
  }
  return { reattached, lost };
}

async function reattachOne(rec: DomainRecord, deps: ReattachDeps, log: Logger): Promise<boolean> {
  const live = parseDomainXml(rec.liveXml as string);
  const proc = QemuProcess.attach(deps.paths.pidfile(rec.uuid), rec.uuid);
  if (!proc) {
    log.warn('QEMU is gone since ferryd last ran');
    await deps.launcher.cleanup(live);
    deps.store.markStopped(rec.uuid, 'unknown');
    return false;
  }
  const transport = await connectQmpSocket(deps.paths.qmpSocket(rec.uuid), { timeoutMs: 5000 });
  const monitor = await QemuMonitor.open(transport, { timeoutMs: 10_000 });
  const qemu = await monitor.queryStatus();
  if (rec.state === 'paused' && rec.reason === 'starting up') {
    log.warn('the domain never finished starting: killing it');
    const vm = new RunningDomain({ uuid: rec.uuid, name: rec.name, def: live, process: proc, monitor, status: { state: 'paused', reason: 'starting up' }, log });
    deps.service.adopt(vm);
    await vm.destroy('failed');
    return false;
  }
  const status = statusFromQemu(qemu.status, rec);
  const argv = commandLine(proc.pid);
  const accel = argv[argv.indexOf('-accel') + 1]?.startsWith('kvm') ? 'kvm' : 'tcg';
  const vm = new RunningDomain({
    uuid: rec.uuid, name: rec.name, def: live, process: proc, monitor, status, log, accel,
    ...(monitor.version ? { qemuVersion: monitor.version } : {}),
  });
  deps.service.adopt(vm);
  if (status.state !== rec.state || status.reason !== rec.reason) deps.store.setState(rec.uuid, status.state, status.reason);
  log.info({ pid: proc.pid, state: status.state }, 'reattached to running QEMU');
  return true;
}

/** Reconciles QEMU's run state with what the store remembered. */
function statusFromQemu(qemu: string, rec: DomainRecord): DomainStatus {
  switch (qemu) {
    case 'running':
      return rec.state === 'running' ? { state: 'running', reason: rec.reason as DomainStatus['reason'] as 'booted' } : { state: 'running', reason: 'unpaused' };
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
