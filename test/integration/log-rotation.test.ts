import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
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
  /** The stream as it was written: the oldest backup first, the live file last. */
  const stream = (): string => [...Array.from({ length: BACKUPS }, (_, i) => `${log}.${BACKUPS - i}`), log].map(read).join('');
  const assertNoGap = (what: string): number[] => {
    const seqs = parseHeartbeats(stream()).map((h) => h.seq);
    assert.ok(seqs.length > 100, `${what}: only ${seqs.length} heartbeats`);
    const gaps = seqs.slice(1).filter((s, i) => s !== (seqs[i] as number) + 1);
    assert.deepEqual(gaps, [], `${what}: every heartbeat from ${seqs[0]} to ${seqs.at(-1)} once, in order, across the rotated files`);
    return seqs;
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
    writeFileSync(xml, guestXml({ name: 'rot', memoryMiB: 128, hbMs: 10, type: 'qemu' }));
    await host.ok('define', xml);
    await host.ok('start', 'rot');
    await waitHeartbeats(stream, 2, { timeoutMs: 40_000 }).catch((err: Error) => {
      throw new Error(`${err.message}: ${stream().slice(-2000)}\n${readFileSync(join(host.stateDir, 'log', 'rot.log'), 'utf8').slice(-2000)}`);
    });
    // Two rotations, then a third: the oldest is dropped, never a .3.
    await eventually(() => existsSync(`${log}.2`), 'two rotations', 60_000);
    const firstOfTwo = read(`${log}.2`).slice(0, 200);
    await eventually(() => read(`${log}.2`).slice(0, 200) !== firstOfTwo, 'a third rotation', 60_000);
    assert.equal(existsSync(`${log}.3`), false, 'log_max_backups caps the rotated files');
    for (const i of [1, 2]) assert.ok(size(`${log}.${i}`) >= MAX_SIZE - 4096 && size(`${log}.${i}`) % 4096 === 0, `${log}.${i} holds the whole blocks of a full log (${size(`${log}.${i}`)})`);

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
