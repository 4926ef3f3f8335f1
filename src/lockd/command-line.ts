import { Command } from 'commander';
import { FERRY_VERSION } from '../shared/version.js';

/** ferry-lockd's command line: `ferry-lockd --help` and ferry-lockd(8) are both written from it. */
export function buildLockdProgram(hostname: string): Command {
  return new Command('ferry-lockd')
    .description("ferry's lock daemon: holds disk leases (OFD locks or etcd keys) for the domains of one host")
    .version(FERRY_VERSION, '-V, --version')
    .option('--socket <path>', 'socket ferryd talks to', '/run/ferry/ferry-lockd.sock')
    .option('--backend <fcntl|etcd>', 'where leases live', 'fcntl')
    .option('--etcd-endpoints <list>', 'comma-separated etcd endpoints (etcd backend)', 'http://127.0.0.1:2379')
    .option('--etcd-prefix <prefix>', 'key prefix in etcd', '/ferry')
    .option('--lease-ttl <seconds>', 'etcd lease TTL: how long leases outlive a dead lockd', '10')
    .option('--host-id <id>', "this host's name in the etcd keys", hostname)
    .option('--log-level <level>', 'log level', 'info');
}
