import { FerryError, fromUnknown } from '../errors/ferry-error.js';
import { buildFerrydProgram } from './command-line.js';
import { loadConfig } from './config.js';
import { startDaemon } from './compose.js';
import { SdNotifier } from '../system/systemd/sd-notify.js';

/** ferryd: the per-host daemon. Runs in the foreground; stop it with SIGTERM (VMs keep running). */
async function main(argv: string[]): Promise<void> {
  const program = buildFerrydProgram();
  program.parse(argv);
  const o = program.opts<{
    config?: string;
    stateDir?: string;
    socket?: string;
    listen?: string;
    listenTcp?: string;
    qemuBinary?: string;
    accel?: string;
    logLevel?: string;
  }>();
  const config = loadConfig(o.config, {
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.socket ? { socket: o.socket } : {}),
    ...(o.listen ? { listen: o.listen } : {}),
    ...(o.listenTcp ? { listenTcp: o.listenTcp } : {}),
    ...(o.qemuBinary ? { qemuBinary: o.qemuBinary } : {}),
    ...(o.accel ? { accel: o.accel as 'auto' } : {}),
    ...(o.logLevel ? { logLevel: o.logLevel } : {}),
  });
  if (!['auto', 'kvm', 'tcg'].includes(config.accel)) throw new FerryError('CONFIG_INVALID', `--accel must be auto, kvm or tcg`);
  // Type=notify (packaging/systemd/ferryd.service): READY=1 once the API socket accepts, STOPPING=1 on a signal.
  const notifier = new SdNotifier();
  const tell = (what: () => boolean): void => {
    try {
      what();
    } catch (err) {
      process.stderr.write(`ferryd: cannot notify systemd: ${(err as Error).message}\n`);
    }
  };
  tell(() => notifier.status('starting: reattaching to running domains'));
  const daemon = await startDaemon(config);
  tell(() => notifier.ready(`serving on ${config.socket}`));
  const stop = (signal: string): void => {
    daemon.log.info({ signal }, 'ferryd stopping; running VMs keep running');
    tell(() => notifier.stopping(`stopping on ${signal}; running domains keep running`));
    void daemon.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main(process.argv).catch((err: unknown) => {
  const e = fromUnknown(err);
  process.stderr.write(`ferryd: error: ${e.message}\nhint: ${e.hint}\n`);
  process.exit(1);
});
