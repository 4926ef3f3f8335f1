/**
 * Live migration between lab hosts over a shaped link (tc tbf on the
 * management and migration links), against the physical limit.
 *
 *   node dist/bench/migration-lab.js --rate 1gbit --vm 512 --touch 256 --runs 4 [--dirty 0] [--tls] [--ping 10] [--max-downtime MS] [--hb 50]
 *
 * Prints one JSON line per migration:
 *   wallMs        the `ferry migrate` command, typed on the source host (node start-up included)
 *   daemonWallMs  the source ferryd's own time from Begin to the end of Confirm
 *   qemuTotalMs   QEMU's total-time
 *   dataMiB       what QEMU moved
 *   limitMs       the physical limit: dataMiB at the link rate
 *   efficiency    limitMs / qemuTotalMs
 *   downtimeMs    QEMU's downtime
 *   blackoutMs    with --ping MS: the longest time the switch got no ping reply from the VM
 *                 (pinged every MS ms on br1), as a user on the VM network sees the switch-over
 *   lost          with --ping: echo requests that got no reply during the migration
 *   hbGapMs       the longest time between two of the guest's heartbeats (one every --hb ms, default 50)
 *                 as they appeared on the hosts' serial logs: the pause the guest itself lived through
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Lab } from '../lab/lab.js';
import { linkBytes } from '../lab/network.js';
import { HeartbeatWatch } from '../test/helpers/heartbeat-watch.js';
import { lastSeq, waitHeartbeats } from '../test/helpers/heartbeat.js';
import { bootLabGuest, labSerialLog, okOnHost } from '../test/helpers/lab-cli.js';
import { Ping } from '../test/helpers/ping.js';
import { tempDir } from '../test/helpers/tmp.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1gbit' },
    vm: { type: 'string', default: '512' },
    touch: { type: 'string', default: '256' },
    dirty: { type: 'string', default: '0' },
    runs: { type: 'string', default: '4' },
    tls: { type: 'boolean', default: false },
    ping: { type: 'string', default: '0' },
    'max-downtime': { type: 'string', default: '0' },
    hb: { type: 'string', default: '50' },
  },
});

/** tc's rate words in bits per second. */
function bitsPerSecond(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)(k|m|g)?bit$/i.exec(rate);
  if (!m) throw new Error(`--rate like 1gbit or 500mbit, not ${rate}`);
  return Number(m[1]) * ({ k: 1e3, m: 1e6, g: 1e9 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1);
}

interface CompletedJob {
  qemuTotalTimeMs?: number;
  timeElapsedMs?: number;
  dataProcessed?: number;
  downtimeMs?: number;
}

/** The completed job record on a host, from its API socket. */
function completedJob(socket: string, name: string): Promise<CompletedJob> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: `/v1/domains/${name}/job?completed=true` }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve((JSON.parse(body) as { job: CompletedJob }).job));
      })
      .on('error', reject);
  });
}

async function main(): Promise<void> {
  const dir = tempDir('ferry-bench-lab-');
  const lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fbench', rate: values.rate as string });
  try {
    // The guest has a virtio NIC on br1 with an address on the VM network, answering ping from the switch.
    const ip = await bootLabGuest(lab, 'h1', 0, {
      name: 'bench',
      mac: '52:54:00:fe:0b:01',
      memoryMiB: Number(values.vm),
      touchMiB: Number(values.touch),
      dirtyMiBs: Number(values.dirty),
      hbMs: Number(values.hb),
    });
    const pingMs = Number(values.ping);
    await new Promise((r) => setTimeout(r, 2000 + Number(values.touch) * 10));
    const bps = bitsPerSecond(values.rate as string);
    let [from, to] = ['h1', 'h2'];
    for (let run = 1; run <= Number(values.runs); run++) {
      const before = linkBytes(lab.host(from).ns, 'eth1').tx;
      if (Number(values['max-downtime']) > 0) await okOnHost(lab, from, 'migrate-setmaxdowntime', 'bench', String(values['max-downtime']));
      const ping = pingMs > 0 ? new Ping(lab.plan.switchNs, ip, pingMs / 1000).start() : undefined;
      if (ping) await new Promise((r) => setTimeout(r, 300));
      const watch = new HeartbeatWatch(() => ['h1', 'h2'].map((h) => `${lab.host(h).stateDir}/log/bench-serial0.log`)).start();
      const started = Date.now();
      const t0 = performance.now();
      await okOnHost(lab, from, 'migrate', '--live', ...(values.tls ? ['--tls'] : []), 'bench', lab.peerUri(lab.host(to)));
      const wallMs = Math.round(performance.now() - t0);
      await waitHeartbeats(() => labSerialLog(lab, to, 'bench'), 3, { afterSeq: lastSeq(labSerialLog(lab, from, 'bench')) });
      watch.stop();
      let pinged: { blackoutMs: number; lost: number } | undefined;
      if (ping) {
        await new Promise((r) => setTimeout(r, 300));
        const blackoutMs = ping.longestGapMs(started - 300, Date.now());
        pinged = { blackoutMs, lost: (await ping.stop()).lost };
      }
      const sent = linkBytes(lab.host(from).ns, 'eth1').tx - before;
      const job = await completedJob(lab.host(to).socket, 'bench');
      const qemuTotalMs = job.qemuTotalTimeMs ?? NaN;
      const dataMiB = Math.round(((job.dataProcessed ?? 0) / 2 ** 20) * 10) / 10;
      const limitMs = Math.round(((sent * 8) / bps) * 1000);
      process.stdout.write(
        `${JSON.stringify({
          run,
          rate: values.rate,
          tls: values.tls,
          vmMiB: Number(values.vm),
          touchMiB: Number(values.touch),
          dirtyMiBs: Number(values.dirty),
          wallMs,
          daemonWallMs: job.timeElapsedMs,
          qemuTotalMs,
          dataMiB,
          wireMiB: Math.round((sent / 2 ** 20) * 10) / 10,
          limitMs,
          efficiency: Math.round((limitMs / qemuTotalMs) * 100) / 100,
          downtimeMs: job.downtimeMs,
          ...pinged,
          hbGapMs: watch.maxGapMs(started),
        })}\n`,
      );
      [from, to] = [to, from];
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await lab.down();
    dir.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
