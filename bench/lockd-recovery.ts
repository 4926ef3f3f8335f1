/**
 * How long running domains go unprotected when ferry-lockd dies. A domain
 * with a disk lease runs; ferry-lockd is killed with SIGKILL, and ferryd's
 * lease keeper starts it again and takes the lease back. Per run it prints:
 *   detectMs   SIGKILL until ferryd logged that lockd went away
 *   recoverMs  from then until ferryd logged the leases taken back
 *   windowMs   detectMs + recoverMs: the time without the lease
 * Usage: node dist/bench/lockd-recovery.js [--runs 5]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { guestXml } from '../test/helpers/guest.js';
import { eventually, pidsMatching } from '../test/helpers/processes.js';
import { TwoHosts } from '../test/helpers/two-hosts.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });

/** Times (ms since the epoch) of ferryd's log lines containing `text`. */
function logTimes(file: string, text: string): number[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(text))
    .map((l) => (JSON.parse(l) as { time: number }).time);
}

async function main(): Promise<void> {
  const hosts = new TwoHosts();
  const shared = `${hosts.dir.path}/shared`;
  mkdirSync(`${shared}/lockspace`, { recursive: true });
  await hosts.start({ config: `file_lockspace_dir = "${shared}/lockspace"\n` });
  try {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${shared}/disk.qcow2`, '64M']);
    writeFileSync(
      `${shared}/guest.xml`,
      guestXml({
        name: 'leased',
        disks: `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${shared}/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>`,
      }),
    );
    await hosts.a.ok('define', `${shared}/guest.xml`);
    await hosts.a.ok('start', 'leased');
    for (let run = 1; run <= Number(values.runs); run++) {
      const [lockd] = pidsMatching(hosts.a.lockdSocket);
      if (!lockd) throw new Error('ferry-lockd does not run');
      const killedAt = Date.now();
      process.kill(lockd, 'SIGKILL');
      await eventually(() => logTimes(hosts.a.logFile, 'leases taken back').length >= run, 'the leases taken back', 10_000);
      const detected = logTimes(hosts.a.logFile, 'went away').at(-1) as number;
      const back = logTimes(hosts.a.logFile, 'leases taken back').at(-1) as number;
      process.stdout.write(`${JSON.stringify({ run, detectMs: detected - killedAt, recoverMs: back - detected, windowMs: back - killedAt })}\n`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await hosts.stop();
  }
}

await main();
