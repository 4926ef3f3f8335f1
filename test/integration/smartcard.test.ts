import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/**
 * <smartcard mode='host-certificates'> on real QEMU, without a guest (SeaBIOS
 * idles): an NSS database with three self-signed certificates made here with
 * certutil (libnss3-tools), QEMU's ccid-card-emulated reading it as the
 * unprivileged QEMU user (ferry grants the database files), on the usb-ccid
 * controller libvirt adds. A live migration checks the destination has the
 * database (a pre-flight row) and the card is there after the move. A missing
 * database is refused at start, coded.
 */
describe("<smartcard mode='host-certificates'> on real QEMU", () => {
  const hosts = new TwoHosts();
  const db = `${hosts.dir.path}/nssdb`;
  const name = 'card';

  const qmp = async (host: typeof hosts.a, command: object): Promise<unknown> =>
    (JSON.parse(await host.ok('qemu-monitor-command', name, JSON.stringify(command))) as { return: unknown }).return;
  const define = async (vm: string, database: string): Promise<void> => {
    writeFileSync(
      `${hosts.dir.path}/${vm}.xml`,
      `<domain type='qemu'><name>${vm}</name><memory unit='MiB'>32</memory>
      <os><type arch='x86_64' machine='q35'>hvm</type></os><features><acpi/><apic/></features><devices>
      <smartcard mode='host-certificates'><certificate>card1</certificate><certificate>card2</certificate><certificate>card3</certificate><database>${database}</database></smartcard>
      </devices></domain>`,
    );
    await hosts.a.ok('define', `${hosts.dir.path}/${vm}.xml`);
  };
  /** QEMU's view of the card: its type and the properties ferry set. */
  const card = async (host: typeof hosts.a): Promise<Record<string, unknown>> => {
    const props = ['backend', 'cert1', 'cert2', 'cert3', 'db', 'parent_bus'];
    const [list, ...values] = await Promise.all([
      qmp(host, { execute: 'qom-list', arguments: { path: '/machine/peripheral' } }) as Promise<Array<{ name: string; type: string }>>,
      ...props.map((property) => qmp(host, { execute: 'qom-get', arguments: { path: '/machine/peripheral/smartcard0', property } })),
    ]);
    const types = Object.fromEntries(list.map((p) => [p.name, p.type]));
    return { ccid0: types.ccid0, smartcard0: types.smartcard0, ...Object.fromEntries(props.map((p, i) => [p, values[i]])) };
  };
  const expected = {
    ccid0: 'child<usb-ccid>',
    smartcard0: 'child<ccid-card-emulated>',
    backend: 'certificates',
    cert1: 'card1',
    cert2: 'card2',
    cert3: 'card3',
    db,
    parent_bus: '/machine/peripheral/ccid0/ccid0.0',
  };

  before(async () => {
    // An NSS database (sql: cert9.db, key4.db, pkcs11.txt; root's, mode 0600) with three self-signed certificates.
    mkdirSync(db);
    execFileSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
    writeFileSync(`${hosts.dir.path}/noise`, 'smartcard test noise for certutil key generation');
    for (const n of [1, 2, 3])
      execFileSync('certutil', ['-S', '-x', '-d', `sql:${db}`, '-n', `card${n}`, '-s', `CN=card${n}`, '-t', 'CT,CT,CT', '-z', `${hosts.dir.path}/noise`], {
        stdio: 'ignore',
      });
    await hosts.start();
    await define(name, db);
    await hosts.a.ok('start', name);
  });

  after(async () => {
    await hosts.stop();
  });

  it('QEMU runs ccid-card-emulated (backend=certificates, the three nicknames, the database) on usb-ccid, reading the database as its own user', async () => {
    const uuid = (await hosts.a.ok('domuuid', name)).trim();
    const [pid] = qemuPidsOf(hosts.a.stateDir, uuid);
    assert.ok(pid, 'a QEMU runs for the domain');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes(`ccid-card-emulated,backend=certificates,cert1=card1,cert2=card2,cert3=card3,db=${db},id=smartcard0,bus=ccid0.0`), argv.join(' '));
    assert.ok(
      argv.some((a) => /^usb-ccid,id=ccid0,bus=usb\.0,port=\d+$/.test(a)),
      'the CCID controller libvirt adds',
    );
    assert.deepEqual(await card(hosts.a), expected);
    // NSS opened the database as QEMU's user (ferry-qemu): the files were root's 0600, ferry handed them over.
    const qemuUid = statSync(`/proc/${pid}`).uid;
    assert.notEqual(qemuUid, 0, 'QEMU runs unprivileged');
    for (const f of ['cert9.db', 'key4.db', 'pkcs11.txt']) assert.equal(statSync(`${db}/${f}`).uid, qemuUid, `${f} granted to QEMU's user`);
    assert.match(
      await hosts.a.ok('dumpxml', name),
      new RegExp(
        `<smartcard mode='host-certificates'>\\s*<certificate>card1</certificate>\\s*<certificate>card2</certificate>\\s*<certificate>card3</certificate>\\s*<database>${db}</database>\\s*(<alias name='smartcard0'/>\\s*)?<address type='ccid' controller='0' slot='0'/>`,
      ),
    );
  });

  it('a live migration checks the destination has the database (pre-flight row), then the card is on the destination', async () => {
    // Both hosts share this machine's files: without the directory the destination has no database.
    renameSync(db, `${db}.away`);
    const r = await hosts.a.ferry('migrate', '--live', name, hosts.bPeer);
    renameSync(`${db}.away`, db);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /\[MIG_PREFLIGHT_FAILED\]/);
    assert.match(r.stdout + r.stderr, new RegExp(`no NSS database directory '${db}' on .*<smartcard mode='host-certificates'>`));
    assert.equal(await hosts.a.state(name), 'running (booted)');

    await hosts.a.ok('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(await hosts.b.state(name), 'running (migrated)');
    assert.deepEqual(await card(hosts.b), expected);
    await hosts.b.ok('destroy', name);
  });

  it('a database that is not there: start is refused, coded, naming the directory', async () => {
    await define('card-nodb', `${hosts.dir.path}/no-such-db`);
    const r = await hosts.a.ferry('start', 'card-nodb');
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`no NSS database directory '${hosts.dir.path}/no-such-db'[\\s\\S]*\\[SMARTCARD_DATABASE_MISSING\\]`));
    assert.match(r.stderr, /hint: Create the database and its three certificates on this host \(certutil/);
    // A directory without cert9.db or cert8.db is not a database either.
    mkdirSync(`${hosts.dir.path}/empty-db`);
    await define('card-empty', `${hosts.dir.path}/empty-db`);
    const e = await hosts.a.ferry('start', 'card-empty');
    assert.equal(e.code, 1, e.stdout);
    assert.match(e.stderr, /holds no NSS database \(neither cert9\.db nor cert8\.db\)[\s\S]*\[SMARTCARD_DATABASE_MISSING\]/);
  });
});
