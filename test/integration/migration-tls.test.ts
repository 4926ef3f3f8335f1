import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FirstBytesProxy } from '../helpers/first-bytes-proxy.js';
import { assertIntactAfterSwitch, guestCorrupted, lastSeq, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { guestXml } from '../helpers/guest.js';
import { TestPki } from '../helpers/test-pki.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** `count` consecutive ports, outside the default migration range, free on 127.0.0.1 and 127.0.0.2. */
async function freePortRange(count: number): Promise<number> {
  const bindable = (host: string, port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 40000 + Math.floor(Math.random() * 8000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = (await bindable('127.0.0.1', p)) && (await bindable('127.0.0.2', p));
    if (ok) return base;
  }
  throw new Error(`no ${count} free consecutive ports`);
}

/**
 * Encrypted migration (--tls) between two real ferryd with real QEMU: each
 * host has its own tls_dir with certificates from one test CA (made with the
 * openssl CLI). B listens for migrations on 127.0.0.1 in a small port range
 * and tells sources to send to 127.0.0.2 (migration_host), where a proxy
 * forwards every port of that range and records how each connection began.
 */
describe('encrypted migration (--tls)', () => {
  const hosts = new TwoHosts();
  const tlsA = `${hosts.dir.path}/tls-a`;
  const tlsB = `${hosts.dir.path}/tls-b`;
  const sansB = ['IP:127.0.0.1', 'IP:127.0.0.2', 'DNS:localhost'];
  const name = 'secret';
  let uuid = '';
  let pki: TestPki;
  let proxy: FirstBytesProxy;
  let migrationLines = '';
  const params = async (host: typeof hosts.a): Promise<Record<string, unknown>> =>
    (JSON.parse(await host.ok('qemu-monitor-command', name, '{"execute":"query-migrate-parameters"}')) as { return: Record<string, unknown> }).return;
  const objects = async (host: typeof hosts.a): Promise<string[]> =>
    (
      JSON.parse(await host.ok('qemu-monitor-command', name, '{"execute":"qom-list","arguments":{"path":"/objects"}}')) as { return: Array<{ name: string }> }
    ).return.map((o) => o.name);
  const configB = (extra = ''): void => writeFileSync(`${hosts.dir.path}/b.conf`, `tls_dir = "${tlsB}"\n${migrationLines}${extra}\n`);

  async function assertCleanOnB(): Promise<void> {
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 0, 'no QEMU left on B');
    await eventually(async () => (await hosts.b.ok('list', '--all', '--name')).trim() === '', 'no definition left on B');
  }

  before(async () => {
    pki = new TestPki(`${hosts.dir.path}/pki`);
    pki.writeTlsDir(tlsA, pki.issue('host-a'));
    pki.writeTlsDir(tlsB, pki.issue('host-b', { sans: sansB }));
    const base = await freePortRange(6);
    migrationLines = `migration_address = "127.0.0.1"\nmigration_host = "127.0.0.2"\nmigration_port_min = ${base}\nmigration_port_max = ${base + 5}\n`;
    proxy = new FirstBytesProxy('127.0.0.1');
    await proxy.listen(
      '127.0.0.2',
      Array.from({ length: 6 }, (_, i) => base + i),
    );
    await hosts.start({ config: `tls_dir = "${tlsA}"\n`, extraConfigB: `tls_dir = "${tlsB}"\n${migrationLines}` });
    await hosts.bootOnA({ name, memoryMiB: 256, touchMiB: 64, dirtyMiBs: 8, hbMs: 50, extraCmdline: 'ferry.scrub=64' });
    uuid = (await hosts.a.ok('domuuid', name)).trim();
  });
  after(async () => {
    await hosts.stop();
    await proxy?.close();
  });

  it('a live migration with --tls: TLS on the wire for the stream and both multifd channels, the guest runs on, and a second migration works', async () => {
    proxy.clear();
    // QEMU checks the name given with --tls-destination instead of the address it connects to (127.0.0.2).
    const migrating = hosts.a.ferry('migrate', '--live', '--tls', '--tls-destination', 'localhost', '--bandwidth', '40', name, hosts.bPeer);
    let during: Record<string, unknown> = {};
    await eventually(async () => {
      during = await params(hosts.a).catch(() => ({}));
      return during['tls-creds'] === 'ferry-migration-tls';
    }, 'the source QEMU migrates with TLS credentials');
    assert.equal(during['tls-hostname'], 'localhost');
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    const streams = proxy.withData();
    assert.ok(streams.length >= 3, `the main stream and 2 multifd channels went through the proxy (${streams.length})`);
    for (const { first } of streams) {
      assert.ok(FirstBytesProxy.isTlsHandshake(first), `a connection began with ${first.toString('hex')}, not a TLS handshake`);
      assert.notEqual(first.subarray(0, 4).toString('latin1'), 'QEVM');
    }
    assert.equal(await hosts.b.state(name), 'running (migrated)');
    await waitHeartbeats(() => hosts.b.serialLog(name), 3, { afterSeq: lastSeq(hosts.a.serialLog(name)) });
    assert.equal(guestCorrupted(hosts.serial(name)), false);
    // The destination removed its credentials once the stream was done.
    await eventually(
      async () => (await params(hosts.b))['tls-creds'] === '' && !(await objects(hosts.b)).includes('ferry-migration-tls'),
      'B cleared its TLS credentials',
    );

    // Back over TLS, straight to A (tls-hostname: the host of A's URI, 127.0.0.1, which A's certificate names).
    const back = await hosts.b.ferry('migrate', '--live', '--tls', name, hosts.aPeer);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(await hosts.a.state(name), 'running (migrated)');
    // And a plain migration through the proxy: QEMU's own magic on the wire this time.
    proxy.clear();
    const p = await hosts.a.ferry('migrate', '--live', name, hosts.bPeer);
    assert.equal(p.code, 0, p.stderr);
    assert.ok(
      proxy.withData().some((c) => c.first.subarray(0, 4).toString('latin1') === 'QEVM'),
      'a plain stream starts with QEVM',
    );
    assert.ok(proxy.withData().every((c) => !FirstBytesProxy.isTlsHandshake(c.first)));
    const back2 = await hosts.b.ferry('migrate', '--live', name, hosts.aPeer);
    assert.equal(back2.code, 0, back2.stderr);
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { afterSeq: lastSeq(hosts.b.serialLog(name)) });
  });

  it('--tls --postcopy: post-copy pulls the pages over TLS; the next migration replaces the credentials post-copy kept', async () => {
    proxy.clear();
    const r = await hosts.a.ferry('migrate', '--live', '--tls', '--bandwidth', '16', '--postcopy', '--postcopy-after-precopy', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state(name), 'running (post-copy)');
    assert.ok(
      proxy.withData().length >= 1 && proxy.withData().every((c) => FirstBytesProxy.isTlsHandshake(c.first)),
      'one TLS connection (no multifd with post-copy)',
    );
    // The guest's oracle checks every word of every page it wrote, after post-copy pulled them all.
    await assertIntactAfterSwitch(
      () => hosts.a.serialLog(name),
      () => hosts.b.serialLog(name),
    );
    // B kept its server credentials (post-copy may use the stream until the end); the way back replaces them.
    assert.ok((await objects(hosts.b)).includes('ferry-migration-tls'));
    const back = await hosts.b.ferry('migrate', '--live', '--tls', name, hosts.aPeer);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(await hosts.a.state(name), 'running (migrated)');
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { afterSeq: lastSeq(hosts.b.serialLog(name)) });
  });

  it("a destination with a certificate from another CA: the handshake fails with QEMU's reason, the VM runs on, B is clean", async () => {
    const other = new TestPki(`${hosts.dir.path}/other-pki`, 'another CA');
    const foreign = `${hosts.dir.path}/tls-b-foreign`;
    other.writeTlsDir(foreign, other.issue('host-b', { sans: sansB }));
    renameSync(tlsB, `${tlsB}.good`);
    renameSync(foreign, tlsB);
    try {
      const seq = lastSeq(hosts.a.serialLog(name));
      const r = await hosts.a.ferry('migrate', '--live', '--tls', name, hosts.bPeer);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^error: operation failed: migration failed: the TLS handshake with the destination failed: The certificate hasn't got a known issuer\n/,
      );
      assert.match(r.stderr, /\[MIG_TLS_HANDSHAKE\]/);
      assert.match(r.stderr, /hint: Both hosts need certificates from the same CA/);
      assert.match(await hosts.a.state(name), /^running/);
      await waitHeartbeats(() => hosts.a.serialLog(name), 3, { afterSeq: seq });
      await assertCleanOnB();
      // The source QEMU is back to plain migration, without the credentials object.
      assert.equal((await params(hosts.a))['tls-creds'], '');
      assert.equal((await objects(hosts.a)).includes('ferry-migration-tls'), false);
    } finally {
      renameSync(tlsB, foreign);
      renameSync(`${tlsB}.good`, tlsB);
    }
  });

  it('--copy-storage-all --tls: the NBD copy refuses a client without TLS, and the disk arrives intact', async () => {
    const vm = 'secret-disk';
    for (const [h, host] of [
      ['a', hosts.a],
      ['b', hosts.b],
    ] as const) {
      await host.ok('pool-define-as', '--name', 'local', '--type', 'dir', '--target', `${hosts.dir.path}/${h}-local`);
      await host.ok('pool-start', 'local', '--build');
    }
    await hosts.a.ok('vol-create-as', 'local', `${vm}.qcow2`, '256M', '--format', 'qcow2');
    await new Promise<void>((resolve, reject) =>
      execFile('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 128M', `${hosts.dir.path}/a-local/${vm}.qcow2`], (err) => (err ? reject(err) : resolve())),
    );
    const disk = `<disk type='volume' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source pool='local' volume='${vm}.qcow2'/><target dev='vda' bus='virtio'/></disk>`;
    await hosts.bootOnA({ name: vm, memoryMiB: 128, touchMiB: 16, disks: disk });
    const logStart = readFileSync(hosts.b.logFile, 'utf8').length;
    const migrating = hosts.a.ferry('migrate', '--live', '--tls', '--copy-storage-all', '--persistent', '--bandwidth', '24', vm, hosts.bPeer);
    let nbdPort = 0;
    await eventually(() => {
      const m = /"nbdPort":(\d+)[^\n]*incoming migration prepared/.exec(readFileSync(hosts.b.logFile, 'utf8').slice(logStart));
      nbdPort = Number(m?.[1] ?? 0);
      return nbdPort > 0;
    }, 'B serves the disk over NBD');
    const plain = await new Promise<string>((resolve) =>
      execFile('qemu-img', ['info', '--image-opts', `driver=nbd,host=127.0.0.1,port=${nbdPort},export=vda`], (err, _out, stderr) =>
        resolve(err ? stderr : 'connected'),
      ),
    );
    assert.match(plain, /TLS negotiation required/, 'a client without TLS is turned away');
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state(vm), 'running (migrated)');
    const same = await new Promise<boolean>((resolve) =>
      execFile('qemu-img', ['compare', '-q', '-U', `${hosts.dir.path}/a-local/${vm}.qcow2`, `${hosts.dir.path}/b-local/${vm}.qcow2`], (err) => resolve(!err)),
    );
    assert.ok(same, 'the copy on B equals the source disk');
    await hosts.b.ok('destroy', vm);
    await hosts.b.ok('undefine', vm);
    await hosts.a.ok('undefine', vm);
  });

  it('--offline --copy-storage-all --tls is refused rather than copying the disks in clear', async () => {
    const disk = `<disk type='volume' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source pool='local' volume='secret-disk.qcow2'/><target dev='vda' bus='virtio'/></disk>`;
    const file = `${hosts.dir.path}/cold-disk.xml`;
    writeFileSync(file, guestXml({ name: 'cold-disk', disks: disk }));
    await hosts.a.ok('define', file);
    const r = await hosts.a.ferry('migrate', '--offline', '--persistent', '--copy-storage-all', '--tls', 'cold-disk', hosts.bPeer);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: this function is not supported by the connection driver: an offline disk copy cannot be encrypted \(--tls or migrate_tls_force\)\nhint: Copy the disks live instead/,
    );
    assert.match(r.stderr, /\[NOT_SUPPORTED\]/);
    assert.equal((await hosts.b.ferry('dominfo', 'cold-disk')).code, 1, 'nothing reached B');
    await hosts.a.ok('undefine', 'cold-disk');
  });

  it('pre-flight names a missing certificate file, its host and the fix; migrate refuses before anything moves', async () => {
    renameSync(`${tlsA}/client-key.pem`, `${tlsA}/client-key.pem.away`);
    try {
      const check = await hosts.a.ferry('migrate-check', '--tls', name, hosts.bPeer);
      assert.equal(check.code, 1);
      assert.match(check.stdout, new RegExp(` TLS certificates +fail +cannot read ${tlsA}/client-key\\.pem on \\S+: ENOENT`));
      assert.match(check.stdout, /TLS certificates: Install the private key of .*client-cert\.pem as .*client-key\.pem/);
      const r = await hosts.a.ferry('migrate', '--live', '--tls', name, hosts.bPeer);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /pre-flight checks failed: TLS certificates/);
      assert.match(r.stderr, /\[MIG_PREFLIGHT_FAILED\]/);
      assert.match(await hosts.a.state(name), /^running/);
      await assertCleanOnB();
    } finally {
      renameSync(`${tlsA}/client-key.pem.away`, `${tlsA}/client-key.pem`);
    }
    renameSync(`${tlsB}/server-cert.pem`, `${tlsB}/server-cert.pem.away`);
    try {
      const check = await hosts.a.ferry('migrate-check', '--tls', name, hosts.bPeer);
      assert.equal(check.code, 1);
      assert.match(check.stdout, new RegExp(` TLS certificates +fail +cannot read ${tlsB}/server-cert\\.pem on \\S+: ENOENT`));
      assert.match(check.stdout, /Issue a certificate for \S+ from the migration CA \(subjectAltName/);
    } finally {
      renameSync(`${tlsB}/server-cert.pem.away`, `${tlsB}/server-cert.pem`);
    }
    const ok = await hosts.a.ferry('migrate-check', '--tls', name, hosts.bPeer);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, / TLS certificates +pass +\S+: client certificate host-a valid until .*; the server certificate of \S+ names '127\.0\.0\.2'/);
    assert.doesNotMatch(await hosts.a.ok('migrate-check', name, hosts.bPeer), /TLS certificates/, 'no TLS row for a plain migration');
  });

  it('migrate_tls_force: the destination refuses a plain migration (pre-flight, and Prepare with MIG_TLS_REQUIRED); the source encrypts every migration', async () => {
    configB('migrate_tls_force = 1');
    await hosts.b.restart();
    const r = await hosts.a.ferry('migrate', '--live', name, hosts.bPeer);
    assert.equal(r.code, 1);
    assert.match(r.stderr, / TLS certificates +fail +\S+ accepts only encrypted migrations \(migrate_tls_force = 1\)/);
    assert.match(r.stderr, /TLS certificates: Add --tls/);
    assert.match(await hosts.a.state(name), /^running/);
    // Prepare refuses on its own too (a source that skipped the checks), before anything starts.
    const cookie = {
      version: 1,
      migrationId: 'plain-1',
      mandatory: ['domain', 'flags', 'tuning'],
      domain: { name, uuid, xml: await hosts.a.ok('dumpxml', name), persistentXml: null },
      source: { hostId: 'x', hostname: 'host-a', qemuVersion: '10.0.2', accel: 'tcg' },
      flags: { live: true, offline: false, suspend: false, persistent: false, undefineSource: false, postcopy: false, sourceWasRunning: true },
      tuning: { capabilities: {}, sharedParameters: {} },
    };
    const refused = await hosts.b.apiPost<{ error: { code: string; message: string; hint: string } }>('/peer/v1/migrations/prepare', { cookie });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'MIG_TLS_REQUIRED');
    assert.match(refused.body.error.message, /accepts only encrypted migrations \(migrate_tls_force = 1\); this one is not encrypted/);
    assert.match(refused.body.error.hint, /^Add --tls/);
    await assertCleanOnB();
    const tls = await hosts.a.ferry('migrate', '--live', '--tls', name, hosts.bPeer);
    assert.equal(tls.code, 0, tls.stderr);
    assert.equal(await hosts.b.state(name), 'running (migrated)');
    // The source side: migrate_tls_force on A encrypts a migration given without --tls.
    configB();
    await hosts.b.restart();
    await hosts.b.ok('migrate', '--live', name, hosts.aPeer);
    writeFileSync(`${hosts.dir.path}/a.conf`, `tls_dir = "${tlsA}"\nmigrate_tls_force = 1\n`);
    await hosts.a.restart();
    proxy.clear();
    const forced = await hosts.a.ferry('migrate', '--live', name, hosts.bPeer);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(proxy.withData().length >= 3 && proxy.withData().every((c) => FirstBytesProxy.isTlsHandshake(c.first)), 'every connection is TLS');
    await waitHeartbeats(() => hosts.b.serialLog(name), 2);
    assert.equal(guestCorrupted(hosts.serial(name)), false);
  });
});
