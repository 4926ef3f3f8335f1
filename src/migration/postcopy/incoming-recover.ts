import type { Logger } from 'pino';
import { FerryError } from '../../errors/ferry-error.js';
import { MigrationMonitor } from '../../qemu/migration-monitor.js';
import type { PortAllocator } from '../../system/port-allocator.js';
import { advertisedDataHost } from '../data-host.js';
import type { MigrationHost } from '../migration-host.js';
import type { MigrationLedger } from '../migration-ledger.js';
import { formatTcpUri } from '../migration-uri.js';

export interface IncomingRecoverDeps {
  host: Pick<MigrationHost, 'runningDomain'>;
  ledger: Pick<MigrationLedger, 'get'>;
  ports: PortAllocator;
  /** Where incoming streams are accepted when the migration's record names no address (migration_address). */
  migrationAddress: string;
  migrationHost?: string;
  log: Logger;
  /** How long the fresh port stays reserved for the source's reconnection (default 60 s). */
  holdPortMs?: number;
}

/**
 * The destination's half of a post-copy recovery (the peer call postcopy-recover): its QEMU, paused in post-copy,
 * listens again on a fresh port of the migration range, on the address the migration used. The VM stays here,
 * paused until the source reconnects; nothing is ever discarded by this call.
 */
export async function listenAgain(d: IncomingRecoverDeps, id: string): Promise<{ port: number; address: string; connectHost?: string }> {
  const rec = d.ledger.get(id, 'destination');
  if (!rec) throw new FerryError('MIG_NOT_FOUND', `migration ${id} is unknown on this host`);
  const vm = d.host.runningDomain(rec.uuid);
  // The record outlives its QEMU: a post-copy guest whose QEMU exited here is lost (the source cannot take it back).
  if (!vm) {
    throw new FerryError('MIG_DEST_CRASHED', `operation failed: the incoming QEMU of '${rec.name}' is not running here: it exited during post-copy`, {
      details: { phase: rec.phase },
    });
  }
  const mm = new MigrationMonitor(vm.monitor);
  let status = (await mm.query()).status ?? 'none';
  // The source asks only once its own QEMU paused: a stream this side still calls active is a silent one (a
  // black-holed link sends no reset). Break it off here too, so both sides wait for the new connection.
  if (status === 'postcopy-active') status = await pauseSilentStream(mm, rec.name, d.log);
  if (status !== 'postcopy-paused') {
    throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: post-copy migration of domain ${rec.name} has not failed here (${status})`);
  }
  const address = typeof rec.data.address === 'string' ? rec.data.address : d.migrationAddress;
  const port = await d.ports.acquire(address);
  try {
    await mm.recover(formatTcpUri(address, port));
  } catch (err) {
    d.ports.release(port);
    throw err;
  }
  // QEMU holds the listener until the source connects; the reservation only keeps other migrations off it meanwhile.
  setTimeout(() => d.ports.release(port), d.holdPortMs ?? 60_000).unref();
  d.log.info({ vm: rec.name, migration: id, port, address }, 'post-copy: the incoming QEMU listens again for the source');
  const connectHost = advertisedDataHost(d.migrationHost ?? '', address);
  return { port, address, ...(connectHost ? { connectHost } : {}) };
}

/** migrate-pause on the destination (QEMU allows it on either side of a post-copy); its status once it settled (5 s at most). */
async function pauseSilentStream(mm: MigrationMonitor, name: string, log: Logger): Promise<string> {
  log.warn({ vm: name }, 'post-copy: the source lost the stream but it looks alive here (a silent link): breaking it off');
  await mm.pause();
  let status = 'postcopy-active';
  for (let i = 0; i < 50 && status === 'postcopy-active'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await mm.query()).status ?? 'none';
  }
  return status;
}
