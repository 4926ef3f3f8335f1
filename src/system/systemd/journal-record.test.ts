import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { UnixDatagramServer } from '../../../test/helpers/unix-datagram-server.js';
import { JournalDestination, journalFieldsOf, MAX_FIELD_BYTES, priorityOf, stderrIsJournal } from './journal-destination.js';
import { decodeJournalRecord, encodeJournalRecord, fieldName, validFieldName } from './journal-record.js';

test('a field without a newline is NAME=value\\n; one with a newline is NAME\\n, a 64-bit LE length, the bytes, \\n', () => {
  const rec = encodeJournalRecord([
    ['MESSAGE', 'hello'],
    ['FERRY_ARGV', 'a\nb'],
    ['lower', 'dropped'],
    ['_PID', 'forged'],
  ]);
  const expected = Buffer.concat([Buffer.from('MESSAGE=hello\nFERRY_ARGV\n'), Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('a\nb\n')]);
  assert.deepEqual(rec, expected);
  assert.deepEqual(decodeJournalRecord(rec), [
    ['MESSAGE', 'hello'],
    ['FERRY_ARGV', 'a\nb'],
  ]);
});

test("field names: journald's rules, and ferry's keys in SNAKE_CASE", () => {
  assert.equal(validFieldName('FERRY_DOMAIN'), true);
  for (const bad of ['_TRUSTED', '1X', 'lower', 'A-B', `A${'B'.repeat(64)}`, '']) assert.equal(validFieldName(bad), false, bad);
  assert.equal(fieldName('FERRY_', 'stateDir'), 'FERRY_STATE_DIR');
  assert.equal(fieldName('FERRY_', 'host-id'), 'FERRY_HOST_ID');
});

test("a pino line becomes MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and ferry's fields", () => {
  const fields = new Map(
    journalFieldsOf(
      {
        level: 50,
        time: 0,
        pid: 1,
        host: 'h',
        msg: 'migration failed',
        vm: 'web',
        uuid: 'u-1',
        migration: 'm-7',
        err: { message: 'peer went away', code: 'MIGRATION_PEER_LOST', stack: 'Error: x\n at y' },
        phase: { name: 'perform' },
      },
      'ferryd',
    ),
  );
  assert.equal(fields.get('MESSAGE'), 'migration failed: peer went away');
  assert.equal(fields.get('PRIORITY'), '3');
  assert.equal(fields.get('SYSLOG_IDENTIFIER'), 'ferryd');
  assert.equal(fields.get('FERRY_DOMAIN'), 'web');
  assert.equal(fields.get('FERRY_UUID'), 'u-1');
  assert.equal(fields.get('FERRY_MIGRATION'), 'm-7');
  assert.equal(fields.get('FERRY_CODE'), 'MIGRATION_PEER_LOST');
  assert.equal(fields.get('FERRY_PHASE'), '{"name":"perform"}');
  assert.equal(fields.has('FERRY_PID'), false);
  assert.deepEqual([60, 50, 40, 30, 20, 10].map(priorityOf), [2, 3, 4, 6, 7, 7]);
  const big = new Map(journalFieldsOf({ level: 20, msg: 'x', argv: 'a'.repeat(MAX_FIELD_BYTES + 10) }, 'ferryd'));
  assert.equal(big.get('FERRY_ARGV')?.length, MAX_FIELD_BYTES);
  assert.equal(big.get('FERRY_TRUNCATED'), '1');
});

test('the journal is used only when stderr is the stream systemd named in JOURNAL_STREAM', () => {
  const stat = (): { dev: number; ino: number } => ({ dev: 25, ino: 4242 });
  assert.equal(stderrIsJournal({ JOURNAL_STREAM: '25:4242' }, stat), true);
  assert.equal(stderrIsJournal({ JOURNAL_STREAM: '25:4243' }, stat), false, 'stderr redirected elsewhere');
  assert.equal(stderrIsJournal({}, stat), false);
});

test('pino through JournalDestination: entries arrive at a stand-in journald socket, decodable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-journal-'));
  const server = new UnixDatagramServer(join(dir, 'socket'));
  const dest = new JournalDestination({ identifier: 'ferryd', path: server.path });
  try {
    const log = pino({ level: 'debug', base: { host: 'h1' } }, dest);
    log.child({ vm: 'web', uuid: '3f2a' }).warn({ code: 'LOCK_HELD' }, 'lease is held elsewhere');
    log.debug({ argv: ['-name', 'web\nsecond line'] }, 'launching QEMU');
    const first = new Map(decodeJournalRecord(await server.next()));
    assert.equal(first.get('MESSAGE'), 'lease is held elsewhere');
    assert.equal(first.get('PRIORITY'), '4');
    assert.equal(first.get('SYSLOG_IDENTIFIER'), 'ferryd');
    assert.equal(first.get('FERRY_DOMAIN'), 'web');
    assert.equal(first.get('FERRY_UUID'), '3f2a');
    assert.equal(first.get('FERRY_CODE'), 'LOCK_HELD');
    const second = new Map(decodeJournalRecord(await server.next()));
    assert.equal(second.get('PRIORITY'), '7');
    assert.deepEqual(JSON.parse(second.get('FERRY_ARGV') ?? ''), ['-name', 'web\nsecond line']);
  } finally {
    dest.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // journald gone: the line falls back (stderr), it is not lost.
  const lost: string[] = [];
  const orphan = new JournalDestination({ identifier: 'ferryd', path: join(dir, 'gone'), fallback: (l) => lost.push(l) });
  pino(orphan).info('still here');
  await new Promise((r) => setImmediate(r));
  assert.match(lost[0] ?? '', /still here/);
  orphan.destroy();
});
