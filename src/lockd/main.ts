import os from 'node:os';
import { pino } from 'pino';
import { logDestination } from '../system/log-destination.js';
import { listenFds } from '../system/systemd/host-systemd.js';
import { OfdLocker } from '../locking/ofd-lock.js';
import { buildLockdProgram } from './command-line.js';
import { FcntlBackend } from './fcntl-backend.js';
import { LeaseTable } from './lease-table.js';
import type { LockBackend } from './lock-backend.js';
import { LockdServer } from './lockd-server.js';

/** ferry-lockd: holds a host's disk leases, apart from ferryd so they outlive its restarts. */
async function main(): Promise<void> {
  const o = buildLockdProgram(os.hostname())
    .parse(process.argv)
    .opts<{ socket: string; backend: string; etcdEndpoints: string; etcdPrefix: string; leaseTtl: string; hostId: string; logLevel: string }>();
  const log = pino({ level: o.logLevel, base: { host: os.hostname(), component: 'ferry-lockd' } }, logDestination('ferry-lockd'));
  // etcd's client (gRPC) takes ~100 ms to load: only lockds on the etcd backend pay for it, so the fcntl one restarts fast.
  const backend: LockBackend =
    o.backend === 'etcd'
      ? new (await import('./etcd-backend.js')).EtcdBackend({
          endpoints: o.etcdEndpoints.split(','),
          prefix: o.etcdPrefix,
          ttlSeconds: Number(o.leaseTtl),
          hostId: o.hostId,
          log,
          // Leases this lockd thinks it holds may be someone else's soon: end, so ferryd takes them back or applies on_lockfailure.
          onSessionLost: () => {
            if (table.list().length === 0) return;
            log.fatal('exiting: the leases it held can no longer be trusted');
            process.exit(75);
          },
        })
      : new FcntlBackend(new OfdLocker());
  const table = new LeaseTable(backend, { host: o.hostId, log });
  const server = new LockdServer(table, backend, log);
  // Socket-activated (ferry-lockd.socket) it serves the socket systemd holds, which outlives its restarts.
  const [activated] = listenFds();
  if (activated !== undefined) await server.listenFd(activated);
  else await server.listen(o.socket);
  log.info({ socket: activated === undefined ? o.socket : `fd ${activated} from systemd`, backend: o.backend }, 'ferry-lockd ready');
  const stop = async (): Promise<void> => {
    await server.close();
    await table.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`ferry-lockd: error: ${(err as Error).message}\n`);
  process.exit(1);
});
