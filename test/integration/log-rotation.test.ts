import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const MAX_SIZE = 16384;
const BACKUPS = 2;

/**
 * Rotation of a running guest's serial log under a real QEMU (docs/configuration.md#log-rotation):
 * the guest prints a numbered heartbeat every 10 ms on its serial port; ferryd rotates
 * NAME-serial0.log at log_max_size into NAME-serial0.log.1 and .2 while QEMU keeps its file.
 */
describe('log rotation', () => {
  const dir = tempDir('ferry-logrot-');
  let host: FerrydHost;
  let log = '';
  const size = (p: string): number => (existsSync(p) ? statSync(p).size : -1);
  const read = (p: string): string => (existsSync(p) ? readFileSync(p, 'latin1') : '');
  /** The files as they were written: the oldest backup first, the live file last. */
  const pieces = (): string[] => [...Array.from({ length: BACKUPS }, (_, i) => `${log}.${BACKUPS - i}`), log].map(read);
  const stream = (): string => pieces().join('');
  /**
   * Around each boundary between two files (where a rotation cut), the heartbeats run on without a gap:
   * nothing lost or garbled at the cut, the line that straddles it whole again once the files are joined.
   * (Only near the cuts: elsewhere a kernel message may interleave with a heartbeat line, which is the guest's business.)
   */
  const assertNoGap = (what: string): number[] => {
    const parts = pieces();
    const all = parts.join('');
    const beats = [...all.matchAll(/ferry-load: hb seq=(\d+) /g)].map((m) => ({ at: m.index, seq: Number(m[1]) }));
    assert.ok(beats.length > 100, `${what}: only ${beats.length} heartbeats`);
    let boundary = 0;
    for (const part of parts.slice(0, -1)) {
      boundary += part.length;
      if (part.length === 0) continue;
      const near = beats.filter((b) => Math.abs(b.at - boundary) < 1500).map((b) => b.seq);
      assert.ok(near.length >= 10, `${what}: heartbeats around the cut at ${boundary}`);
      assert.deepEqual(
        near,
        near.map((_, i) => (near[0] as number) + i),
        `${what}: the heartbeats across the cut at byte ${boundary} run on without a gap`,
      );
    }
    return beats.map((b) => b.seq);
  };

  before(async () => {
    const conf = join(dir.path, 'ferryd.conf');
    writeFileSync(conf, `log_max_size = ${MAX_SIZE}\nlog_max_backups = ${BACKUPS}\ntest_log_rotate_interval_ms = 200\n`);
    host = await new FerrydHost({ dir: join(dir.path, 'h'), config: conf }).start();
    log = join(host.stateDir, 'log', 'rot-serial0.log');
  });
  after(async () => {
    await host?.ferry('destroy', 'rot');
    await host?.stopAll();
    dir.cleanup();
  });

  it('rotates at max_size, keeps max_backups, QEMU keeps writing its file, and no byte is lost, also across a ferryd crash', async () => {
    const xml = join(dir.path, 'rot.xml');
    writeFileSync(xml, guestXml({ name: 'rot', memoryMiB: 128, touchMiB: 1, hbMs: 10, type: 'qemu' }));
    await host.ok('define', xml);
    await host.ok('start', 'rot');
    // Its first heartbeat: a TCG boot takes 5-10 s on an idle machine, over 40 s at a load of 13 on 2 cores (seen here).
    await waitHeartbeats(stream, 2, { timeoutMs: 120_000 }).catch((err: Error) => {
      throw new Error(`${err.message}: ${stream().slice(-2000)}\n${readFileSync(join(host.stateDir, 'log', 'rot.log'), 'utf8').slice(-2000)}`);
    });
    // Two rotations, then a third: the oldest is dropped, never a .3.
    await eventually(() => existsSync(`${log}.2`), 'two rotations', 60_000);
    const firstOfTwo = read(`${log}.2`).slice(0, 200);
    await eventually(() => read(`${log}.2`).slice(0, 200) !== firstOfTwo, 'a third rotation', 60_000);
    assert.equal(existsSync(`${log}.3`), false, 'log_max_backups caps the rotated files');
    for (const i of [1, 2])
      assert.ok(
        size(`${log}.${i}`) >= MAX_SIZE - 4096 && size(`${log}.${i}`) % 4096 === 0,
        `${log}.${i} holds the whole blocks of a full log (${size(`${log}.${i}`)})`,
      );

    // ferryd dies; QEMU does not, and writes on into the same file, which nobody rotates now.
    await host.kill('SIGKILL');
    const atCrash = size(log);
    await eventually(() => size(log) > MAX_SIZE * 2, 'QEMU keeps writing the log while ferryd is down', 30_000);
    assert.ok(size(log) > atCrash);
    const beforeRestart = assertNoGap('while ferryd is down');

    // The restarted ferryd rotates what grew meanwhile; QEMU's next lines land in the file after the cut.
    await host.start();
    await eventually(() => size(log) < MAX_SIZE, 'the grown log rotated after the restart', 30_000);
    const cut = size(log);
    await eventually(() => size(log) > cut + 1000, 'QEMU writes on into the rotated file', 30_000);
    await host.ok('destroy', 'rot');
    const seqs = assertNoGap('after the restart');
    assert.ok((seqs.at(-1) as number) > (beforeRestart.at(-1) as number));
    assert.ok((seqs[0] as number) > 1, 'the oldest lines went with the dropped backup');
    assert.equal(existsSync(`${log}.3`), false);
    await host.ok('undefine', 'rot');
  });
});
