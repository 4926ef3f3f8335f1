import type { Logger } from 'pino';
import { syncGuestClock } from '../host/guest-clock.js';
import type { RunningDomain } from '../host/running-domain.js';
import { BlockMonitor } from '../qemu/block-monitor.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import type { WireFinishRequest } from '../shared/peer-protocol/migration-messages.js';
import type { MigrationHost } from './migration-host.js';
import type { LedgerRecord } from './migration-ledger.js';
import { removeMigrationTlsCreds } from './migration-tls.js';
import { waitIncoming } from './wait-incoming.js';

/** Finish's request as the destination reads it: the wire's, with a missing persistentXml read as null (peer-migrations.ts). */
export type FinishRequest = Omit<WireFinishRequest, 'persistentXml'> & { persistentXml: string | null };

/**
 * Finish's switch on the destination, up to the vCPUs running here: the stream complete, the disk leases
 * taken (they move with the VM: before its vCPUs run here), the NBD exports of copied disks closed, then
 * `cont` when the source asked to resume. A failure throws before any vCPU ran here: the source may take
 * the VM back.
 */
export async function switchOverIncoming(
  host: MigrationHost,
  vm: RunningDomain,
  rec: LedgerRecord<'destination'>,
  req: FinishRequest,
  log: Logger,
): Promise<void> {
  log.debug('switchover: finish requested');
  await waitIncoming(new MigrationMonitor(vm.monitor), vm, req.postcopy);
  log.debug('switchover: incoming stream complete');
  if (host.leasesEnabled()) {
    const leases = req.leases && req.leases.length > 0 ? req.leases : await host.leasesOf(vm.def);
    await host.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, leases);
    log.debug({ leases: leases.length }, 'switchover: leases acquired');
  }
  if (rec.data.nbdPort) await new BlockMonitor(vm.monitor).nbdServerStop().catch((err) => log.warn({ err }, 'nbd-server-stop failed'));
  if (!req.resume) return;
  const resumed = vm.monitor.listen(['RESUME']);
  try {
    vm.expectResume(req.postcopy ? 'post-copy' : 'migrated');
    await vm.monitor.cont();
    await resumed.next({ timeoutMs: 10_000 });
    log.debug('switchover: vCPUs resumed');
  } finally {
    resumed.close();
  }
}

/**
 * After the switch, with the VM running (or kept paused) here: its status, the guest's neighbours told
 * where it is (announce-self), its clock set once its agent is back, the TLS credentials of a finished
 * stream removed. All best effort: nothing here may report a failure to the source.
 */
export function settleArrived(vm: RunningDomain, rec: LedgerRecord<'destination'>, req: FinishRequest, log: Logger): void {
  if (!req.resume) vm.setStatus({ state: 'paused', reason: 'user' });
  else if (!req.postcopy) vm.setStatus({ state: 'running', reason: 'migrated' });
  void new MigrationMonitor(vm.monitor).announceSelf().catch((err) => log.warn({ err }, 'announce-self failed'));
  // The guest's clock stood still during the switchover: set it once its agent is back.
  if (req.resume) void syncGuestClock(vm, { log, why: 'migrated', waitOpenMs: 60_000 });
  // The stream is done (post-copy still pulls pages: then the next migration replaces the credentials).
  if (rec.data.tls && !req.postcopy) void removeMigrationTlsCreds(vm.monitor).catch((err) => log.warn({ err }, 'cannot remove the TLS credentials'));
}
