import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord } from '../../src/shared/api-types.js';
import { groupId } from '../../src/system/unix-group.js';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { stageCli, type StagedCli } from '../helpers/staged-cli.js';
import { tempDir } from '../helpers/tmp.js';
import { writeFileSync } from 'node:fs';

const NOBODY = 65534;
/** The CLI where uid nobody can read it (staged in before()). */
let cli: StagedCli;

/** The CLI as another user: uid nobody with the ferry group, as a member of the group who is not root. */
function ferryAs(uid: number, gid: number, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, cli.path, ...args],
      { env: { ...process.env, HOME: '/nonexistent' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The audit trail on a real ferryd (docs/audit.md): each state-changing call
 * is a row with the caller's peer credentials and its outcome, queries are
 * not, and `ferry audit` reads and filters them.
 */
describe('audit trail', () => {
  const dir = tempDir('ferry-audit-');
  let host: FerrydHost;
  const ferryGid = groupId('ferry');
  const xmlFile = join(dir.path, 'aud.xml');
  const records = async (...args: string[]): Promise<AuditRecord[]> => JSON.parse(await host.ok('audit', '--json', ...args)) as AuditRecord[];

  before(async () => {
    cli = stageCli();
    writeFileSync(xmlFile, guestXml({ name: 'aud', memoryMiB: 64, type: 'qemu' }));
    host = await new FerrydHost({ dir: join(dir.path, 'h') }).start();
  });
  after(async () => {
    await host?.stopAll();
    cli?.cleanup();
    dir.cleanup();
  });

  it('define, start, destroy, undefine and failed calls are recorded with uid, gid, origin and outcome; queries are not', async () => {
    const start = Date.now();
    await host.ok('define', xmlFile);
    await host.ok('list', '--all');
    await host.ok('dominfo', 'aud');
    await host.ok('start', 'aud');
    await host.ok('destroy', 'aud');
    assert.equal((await host.ferry('start', 'no-such-domain')).code, 1);
    const roSocket = host.socket.replace(/\.sock$/, '-ro.sock');
    assert.equal((await host.ferry('-c', `ferry:///system?socket=${roSocket}`, 'undefine', 'aud')).code, 1, 'the read-only socket refuses it');
    await host.ok('undefine', 'aud');

    const rows = await records();
    assert.deepEqual(
      rows.map((r) => [r.operation, r.domainName, r.outcome, r.errorCode]),
      [
        ['define', 'aud', 'ok', null],
        ['start', 'aud', 'ok', null],
        ['destroy', 'aud', 'ok', null],
        ['start', 'no-such-domain', 'error', 'DOMAIN_NOT_FOUND'],
        ['undefine', 'aud', 'error', 'ACCESS_DENIED'],
        ['undefine', 'aud', 'ok', null],
      ],
      'list and dominfo (queries) left no row',
    );
    const uuid = rows[0]?.domainUuid;
    assert.match(uuid ?? '', /^[0-9a-f-]{36}$/);
    for (const r of rows) {
      assert.equal(r.uid, 0, 'the test runs as root: the peer credentials say so');
      assert.equal(r.gid, 0);
      assert.ok(r.at >= start && r.at <= Date.now());
    }
    assert.deepEqual(
      rows.map((r) => r.listener),
      ['unix', 'unix', 'unix', 'unix', 'unix-ro', 'unix'],
    );
    assert.equal(rows[0]?.origin, host.socket);
    assert.equal(rows[4]?.origin, roSocket);
    assert.equal(rows[5]?.domainUuid, uuid, 'undefine names the domain by its uuid too');
    assert.match(JSON.stringify(rows[0]?.options), /characters withheld/, 'the definition itself is not copied into the trail');

    // The table and its filters.
    const table = await host.ok('audit', '--domain', 'aud');
    assert.match(table, /^ Time +Caller +From +Operation +Domain +Outcome\n-+\n/);
    assert.match(table, /uid=0 gid=0 .* define +aud +ok\n/);
    assert.match(table, /undefine +aud +error: ACCESS_DENIED\n/);
    assert.doesNotMatch(table, /no-such-domain/);
    assert.equal((await records('--domain', uuid as string)).length, 5, "by uuid: all of aud's calls");
    assert.deepEqual(
      (await records('--limit', '2')).map((r) => r.operation),
      ['undefine', 'undefine'],
      'the newest two',
    );
    assert.equal((await records('--since', '1h')).length, 6);
    assert.equal((await records('--until', new Date(start - 1000).toISOString())).length, 0);
    const bad = await host.ferry('audit', '--since', 'yesterday');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid value for --since: 'yesterday' is not a time[\s\S]*ISO 8601/);
    const ro = await host.ferry('-r', 'audit');
    assert.equal(ro.code, 1);
    assert.match(ro.stderr, /audit trail needs a read-write connection/);
  });

  it(
    'a member of the ferry group who is not root is recorded with their own uid and gid',
    { skip: ferryGid === undefined && 'no ferry group on this machine' },
    async () => {
      const r = await ferryAs(NOBODY, ferryGid as number, ['-c', host.uri, 'define', xmlFile]);
      assert.equal(r.code, 0, r.stderr);
      const last = (await records('--limit', '1'))[0];
      assert.equal(last?.operation, 'define');
      assert.equal(last?.uid, NOBODY);
      assert.equal(last?.gid, ferryGid);
      await host.ok('undefine', 'aud');
    },
  );
});
