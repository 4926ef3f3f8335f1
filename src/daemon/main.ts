import { Command } from 'commander';
import { FerryError, fromUnknown } from '../errors/ferry-error.js';
import { FERRY_VERSION } from '../shared/version.js';
import { loadConfig } from './config.js';
import { startDaemon } from './compose.js';
import { SdNotifier } from '../system/systemd/sd-notify.js';

/** ferryd: the per-host daemon. Runs in the foreground; stop it with SIGTERM (VMs keep running). */
async function main(argv: string[]): Promise<void> {
  const program = new Command('ferryd')
    .description('ferry\'s per-host daemon: runs QEMU virtual machines and serves the ferry CLI over a unix socket')
    .version(FERRY_VERSION, '-V, --version')
    .option('--config <file>', 'configuration file (default /etc/ferry/ferryd.conf when it exists)')
    .option('--state-dir <dir>', 'where definitions, logs and QEMU sockets live (default /var/lib/ferry)')
    .option('--socket <path>', 'the API socket the CLI connects to (default /run/ferry/ferryd.sock)')
    .option('--listen <host:port>', 'the TLS listener (mutual TLS with the certificates in tls_dir): ferry+tls:// clients and the peer API between ferryds')
    .option('--listen-tcp <host:port>', 'a plain-TCP listener with NO authentication (ferry+tcp://), for labs and tests only')
    .option('--qemu-binary <path>', 'QEMU system emulator (default /usr/bin/qemu-system-x86_64)')
    .option('--accel <auto|kvm|tcg>', 'accelerator: auto probes whether KVM really works (default auto)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default info)')
    .addHelpText('after', '\nRunning VMs survive a ferryd restart: a new ferryd with the same --state-dir reattaches to them.\n');
  program.parse(argv);
  const o = program.opts<{ config?: string; stateDir?: string; socket?: string; listen?: string; listenTcp?: string; qemuBinary?: string; accel?: string; logLevel?: string }>();
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
