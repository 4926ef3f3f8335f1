import { Command } from 'commander';
import { FERRY_VERSION } from '../shared/version.js';

/** ferryd's command line: `ferryd --help` and ferryd(8) are both written from it. */
export function buildFerrydProgram(): Command {
  return new Command('ferryd')
    .description("ferry's per-host daemon: runs QEMU virtual machines and serves the ferry CLI over a unix socket")
    .version(FERRY_VERSION, '-V, --version')
    .option('--config <file>', 'configuration file (default /etc/ferry/ferryd.conf when it exists)')
    .option('--state-dir <dir>', 'where definitions, logs and QEMU sockets live (default /var/lib/ferry)')
    .option('--socket <path>', 'the API socket the CLI connects to (default /run/ferry/ferryd.sock)')
    .option('--listen <host:port>', 'the TLS listener (mutual TLS with the certificates in tls_dir): ferry+tls:// clients and the peer API between ferryds')
    .option('--listen-tcp <host:port>', 'a plain-TCP listener with NO authentication (ferry+tcp://), for labs and tests only')
    .option('--qemu-binary <path>', 'QEMU system emulator (default /usr/bin/qemu-system-x86_64)')
    .option('--accel <auto|kvm|tcg>', 'accelerator: auto probes whether KVM really works (default auto)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default info)')
    .addHelpText(
      'after',
      '\nRunning VMs survive a ferryd restart: a new ferryd with the same --state-dir reattaches to them.\nman 8 ferryd, man 5 ferryd.conf.\n',
    );
}
