import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EtcdServer } from '../helpers/etcd.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import type { FerrydHost } from '../helpers/ferryd.js';
import { eventually, pidsMatching, qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const fileDisk = (path: string, extra = ''): string =>
  `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${path}'/><target dev='vda' bus='virtio'/>${extra}</disk>`;

/**
 * A refused start left nothing on the host that refused it: no QEMU of the
 * domain (checked when the refusal is answered, not eventually), no lease of
 * it, and the domain shut off.
 */
async function assertNothingStarted(host: FerrydHost, name: string): Promise<void> {
  const uuid = (await host.ok('domuuid', name)).trim();
  assert.deepEqual(qemuPidsOf(host.stateDir, uuid), [], `no QEMU of ${name} on the host that refused to start it`);
  assert.match(await host.state(name), /^shut off/);
  assert.doesNotMatch(await host.ok('lock-list'), new RegExp(` ${name} `), `no lease of ${name} there`);
}

/** The same scenarios on each lease backend: OFD locks in a shared lockspace directory, and etcd. */
function lockScenarios(backend: 'fcntl' | 'etcd'): void {
  describe(`lock manager (${backend})`, () => {
    const hosts = new TwoHosts();
    const shared = `${hosts.dir.path}/shared`;
    const lockspace = `${shared}/lockspace`;
    let etcd: EtcdServer | undefined;
    let loop = '';
    const xml = (name: string, disks: string, uuid?: string): string => {
      const f = `${hosts.dir.path}/${name}-${Math.random().toString(36).slice(2)}.xml`;
      writeFileSync(f, guestXml({ name, disks, ...(uuid ? { uuid } : {}) }));
      return f;
    };
    const defineBoth = async (name: string, disks: string): Promise<void> => {
      const uuid = crypto.randomUUID();
      await hosts.a.ok('define', xml(name, disks, uuid));
      await hosts.b.ok('define', xml(name, disks, uuid));
    };

    before(async () => {
      mkdirSync(lockspace, { recursive: true });
      let config = `file_lockspace_dir = "${lockspace}"\n`;
      if (backend === 'etcd') {
        etcd = await new EtcdServer(`${hosts.dir.path}/etcd`).start();
        config += `lockd_backend = "etcd"\netcd_endpoints = [ "${etcd.endpoint}" ]\nlease_ttl = 3\n`;
      }
      await hosts.start({ config });
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${shared}/vm.qcow2`, '64M']);
      execFileSync('qemu-img', ['create', '-q', '-f', 'raw', `${shared}/lun.raw`, '64M']);
      loop = execFileSync('losetup', ['--find', '--show', `${shared}/lun.raw`], { encoding: 'utf8' }).trim();
    });
    after(async () => {
      await hosts.stop();
      if (loop) execFileSync('losetup', ['-d', loop]);
      etcd?.stop();
    });

    it("a second start on another host fails with the seed's message; after destroy it starts there", async () => {
      await defineBoth('guarded', fileDisk(`${shared}/vm.qcow2`));
      await hosts.a.ok('start', 'guarded');
      const r = await hosts.b.ferry('start', 'guarded');
      assert.equal(r.code, 1);
      const hash = sha256(realpathSync(`${shared}/vm.qcow2`));
      assert.equal(
        r.stderr.split('\n').slice(0, 2).join('\n'),
        `error: Failed to start domain 'guarded'\nerror: resource busy: Lockspace resource '${hash}' is locked`,
      );
      assert.match(r.stderr, /\[LOCK_HELD\]/);
      await assertNothingStarted(hosts.b, 'guarded');
      assert.match(await hosts.a.ok('lock-list'), new RegExp(`${hash} \\(${lockspace}/${hash}\\) +exclusive +guarded +vda`));
      await hosts.a.ok('destroy', 'guarded');
      assert.equal(await hosts.b.ok('start', 'guarded'), "Domain 'guarded' started\n\n");
      await hosts.b.ok('destroy', 'guarded');
    });

    it('a live migration moves the lease: B holds it, A does not', async () => {
      await hosts.a.ok('start', 'guarded');
      await waitHeartbeats(() => hosts.a.serialLog('guarded'), 1);
      await hosts.a.ok('migrate', '--live', 'guarded', hosts.bPeer);
      assert.match(await hosts.b.ok('lock-list'), / exclusive +guarded +vda /);
      assert.doesNotMatch(await hosts.a.ok('lock-list'), /guarded/);
      const again = await hosts.a.ferry('start', 'guarded');
      assert.match(again.stderr, /resource busy: Lockspace resource '[0-9a-f]{64}' is locked/, 'A cannot start it while it runs on B');
      await assertNothingStarted(hosts.a, 'guarded');
    });

    it('SIGKILL of ferryd keeps the lease; SIGKILL of QEMU releases it', async () => {
      await hosts.b.kill('SIGKILL');
      assert.match((await hosts.a.ferry('start', 'guarded')).stderr, /is locked/, 'the lease outlives ferryd');
      await assertNothingStarted(hosts.a, 'guarded');
      await hosts.b.start();
      assert.match(await hosts.b.ok('lock-list'), / guarded +vda /);
      const uuid = (await hosts.b.ok('domuuid', 'guarded')).trim();
      for (const pid of pidsMatching(`${hosts.b.stateDir}/run/${uuid}`)) process.kill(pid, 'SIGKILL');
      await eventually(async () => (await hosts.a.ferry('start', 'guarded')).code === 0, 'A can start it once QEMU on B is dead', 20_000);
      assert.doesNotMatch(await hosts.b.ok('lock-list'), /guarded/);
      await hosts.a.ok('destroy', 'guarded');
    });

    it('a block device gets a lease named by the hash of its path, and two paths to one volume collide', async () => {
      const link = `${hosts.dir.path}/lun-by-another-name`;
      if (!existsSync(link)) symlinkSync(loop, link);
      const blockDisk = (dev: string): string =>
        `<disk type='block' device='disk'><driver name='qemu' type='raw' cache='none'/><source dev='${dev}'/><target dev='vda' bus='virtio'/></disk>`;
      await hosts.a.ok('define', xml('lun-a', blockDisk(loop)));
      await hosts.b.ok('define', xml('lun-b', blockDisk(link)));
      await hosts.a.ok('start', 'lun-a');
      const r = await hosts.b.ferry('start', 'lun-b');
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^error: Failed to start domain 'lun-b'\\nerror: resource busy: Lockspace resource '${sha256(loop)}' is locked`));
      await assertNothingStarted(hosts.b, 'lun-b');
      await hosts.a.ok('destroy', 'lun-a');
      await hosts.b.ok('start', 'lun-b');
      await hosts.b.ok('destroy', 'lun-b');
    });

    it('read-only and shareable disks take shared leases', async () => {
      execFileSync('qemu-img', ['create', '-q', '-f', 'raw', `${shared}/iso.raw`, '16M']);
      const ro = `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${shared}/iso.raw'/><target dev='vdb' bus='virtio'/><readonly/></disk>`;
      await hosts.a.ok('define', xml('reader-a', ro));
      await hosts.b.ok('define', xml('reader-b', ro));
      await hosts.a.ok('start', 'reader-a');
      await hosts.b.ok('start', 'reader-b');
      assert.match(await hosts.a.ok('lock-list'), / shared +reader-a +vdb /);
      assert.match(await hosts.b.ok('lock-list'), / shared +reader-b +vdb /);
      const rw = `<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='${shared}/iso.raw'/><target dev='vdb' bus='virtio'/></disk>`;
      await hosts.a.ok('define', xml('writer', rw));
      const w = await hosts.a.ferry('start', 'writer');
      assert.match(w.stderr, /resource busy: Lockspace resource '[0-9a-f]{64}' is locked/, 'a writer is kept out while readers hold it');
      await assertNothingStarted(hosts.a, 'writer');
      await hosts.a.ok('destroy', 'reader-a');
      await hosts.b.ok('destroy', 'reader-b');
    });

    it('lock-clear refuses while a reachable host runs the domain, and needs --force for a holder nobody knows', async () => {
      await hosts.a.ok('start', 'guarded');
      const hash = sha256(realpathSync(`${shared}/vm.qcow2`));
      const resource = `${lockspace}/${hash}`;
      const busy = await hosts.b.ferry('lock-clear', resource, '--peer', hosts.aPeer);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /error: Failed to clear lock .*\nerror: Requested operation is not valid: domain 'guarded' runs on host \S+ with/);
      await hosts.a.ok('destroy', 'guarded');
      if (backend === 'fcntl') {
        // A holder ferry cannot see (another host, down): a process keeping an OFD lock on the lockspace file.
        const holder = spawn(
          process.execPath,
          [
            '-e',
            `import('${new URL('../../src/locking/ofd-lock.js', import.meta.url).href}').then(m=>{new m.OfdLocker().tryLock('${resource}','exclusive',{create:true});setInterval(()=>{},1000)})`,
          ],
          { stdio: 'ignore' },
        );
        try {
          await eventually(async () => (await hosts.b.ferry('start', 'guarded')).code === 1, 'the unknown holder blocks B');
          await assertNothingStarted(hosts.b, 'guarded');
          const stale = await hosts.b.ferry('lock-clear', resource, '--peer', hosts.aPeer);
          assert.match(stale.stderr, /still locked by a holder none of the reachable hosts .* knows\nhint: .*--force/);
          assert.match(await hosts.b.ok('lock-clear', resource, '--peer', hosts.aPeer, '--force'), /^Lock on '.*' cleared \(checked: /);
          assert.equal(existsSync(resource), false, 'the lock file is gone; the next holder locks a fresh one');
          assert.equal(await hosts.b.ok('start', 'guarded'), "Domain 'guarded' started\n\n");
          await hosts.b.ok('destroy', 'guarded');
        } finally {
          holder.kill('SIGKILL');
        }
      }
    });

    it('lock-clear removes nothing but a lock file ferry made in a lockspace, and ferry-lockd checks it again itself', async () => {
      const outside = `${hosts.dir.path}/somefile-${backend}`;
      writeFileSync(outside, 'precious');
      const named = `${lockspace}/${'e'.repeat(64)}`;
      writeFileSync(named, 'not a lock file');
      const link = `${lockspace}/${'f'.repeat(64)}`;
      if (!existsSync(link)) symlinkSync(outside, link);
      for (const [resource, why] of [
        [outside, /is not a lock file in a lockspace directory/],
        [`${lockspace}/../somefile-${backend}`, /is not a lock file in a lockspace directory/],
        [named, backend === 'fcntl' ? /it is not empty/ : /./],
        [link, backend === 'fcntl' ? /it is not a regular file/ : /./],
      ] as const) {
        for (const force of [[], ['--force']]) {
          const r = await hosts.b.ferry('lock-clear', resource, ...force);
          if (backend === 'etcd' && (resource === named || resource === link)) {
            // The etcd backend clears keys, never files: the file is left alone either way.
            assert.equal(readFileSync(resource, 'utf8'), resource === named ? 'not a lock file' : 'precious');
            continue;
          }
          assert.equal(r.code, 1, `${resource} ${force.join(' ')}: ${r.stdout}`);
          assert.match(r.stderr, new RegExp(`^error: Failed to clear lock '${resource.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'\nerror: .*${why.source}`));
          assert.match(r.stderr, /\[LOCK_CLEAR_REFUSED\]\n$/);
        }
      }
      assert.equal(readFileSync(outside, 'utf8'), 'precious', 'the file outside the lockspace is untouched');
      assert.equal(readFileSync(named, 'utf8'), 'not a lock file');
      assert.equal(readFileSync(link, 'utf8'), 'precious', 'the symlink is still there');
      if (backend === 'fcntl') {
        // Asked directly, with this host's lockspace, ferry-lockd refuses too: the check is its own, not only ferryd's.
        const reply = await new Promise<string>((resolve, reject) => {
          const s = net.createConnection({ path: hosts.b.lockdSocket }, () =>
            s.write(`${JSON.stringify({ id: 1, op: 'clear', resource: outside, lockspaces: [lockspace] })}\n`),
          );
          let buf = '';
          s.on('data', (d) => (buf += d.toString()));
          s.on('end', () => resolve(buf));
          s.on('data', () => buf.includes('\n') && s.end());
          s.on('error', reject);
        });
        assert.match(reply, /"code":"LOCK_CLEAR_REFUSED".*not in a lockspace directory/);
        assert.equal(readFileSync(outside, 'utf8'), 'precious');
      }
    });

    it("ferry-lockd killed: ferryd starts it again at once and takes the running domain's leases back", async () => {
      await hosts.a.ok('start', 'guarded');
      const before = await hosts.a.ok('lock-list');
      assert.match(before, / exclusive +guarded +vda /);
      const [lockd] = pidsMatching(hosts.a.lockdSocket);
      assert.ok(lockd, 'ferry-lockd runs beside ferryd A');
      process.kill(lockd, 'SIGKILL');
      await eventually(
        async () => {
          const pids = pidsMatching(hosts.a.lockdSocket);
          return pids.length === 1 && pids[0] !== lockd && / exclusive +guarded +vda /.test(await hosts.a.ok('lock-list'));
        },
        'a new ferry-lockd holds the lease again',
        10_000,
      );
      assert.match(hosts.a.logTail(400), /leases taken back after ferry-lockd restarted/);
      assert.match((await hosts.b.ferry('start', 'guarded')).stderr, /resource busy: Lockspace resource '[^']+' is locked/, 'B is kept out again');
      await assertNothingStarted(hosts.b, 'guarded');
      assert.match(await hosts.a.state('guarded'), /^running/);
      await hosts.a.ok('destroy', 'guarded');
    });

    if (backend === 'fcntl') {
      it('a lease another holder took while ferry-lockd was down: on_lockfailure pauses the domain; resume waits for the lease', async () => {
        await hosts.a.ok('start', 'guarded');
        const hash = sha256(realpathSync(`${shared}/vm.qcow2`));
        const resource = `${lockspace}/${hash}`;
        const ferrydA = hosts.a.pid as number;
        // ferryd A cannot react while stopped; its lockd dies and another holder (a host ferry cannot see) takes the lease.
        process.kill(ferrydA, 'SIGSTOP');
        let holder: ReturnType<typeof spawn> | undefined;
        try {
          for (const pid of pidsMatching(hosts.a.lockdSocket)) process.kill(pid, 'SIGKILL');
          await eventually(() => pidsMatching(hosts.a.lockdSocket).length === 0, 'ferry-lockd A is gone');
          holder = spawn(
            process.execPath,
            [
              '-e',
              `import('${new URL('../../src/locking/ofd-lock.js', import.meta.url).href}').then(m=>{new m.OfdLocker().tryLock('${resource}','exclusive',{create:true});console.log('locked');setInterval(()=>{},1000)})`,
            ],
            { stdio: ['ignore', 'pipe', 'ignore'] },
          );
          await new Promise<void>((resolve) => holder?.stdout?.once('data', () => resolve()));
        } finally {
          process.kill(ferrydA, 'SIGCONT');
        }
        try {
          await eventually(async () => (await hosts.a.state('guarded')) === 'paused (lock failure)', 'A paused the domain (on_lockfailure default)', 10_000);
          const r = await hosts.a.ferry('resume', 'guarded');
          assert.equal(r.code, 1);
          assert.match(r.stderr, new RegExp(`resource busy: Lockspace resource '${hash}' is locked`));
          assert.equal(await hosts.a.state('guarded'), 'paused (lock failure)');
        } finally {
          holder?.kill('SIGKILL');
        }
        await eventually(async () => (await hosts.a.ferry('resume', 'guarded')).code === 0, 'resume works once the other holder is gone');
        assert.match(await hosts.a.ok('lock-list'), / exclusive +guarded +vda /);
        await hosts.a.ok('destroy', 'guarded');
      });
    }

    if (backend === 'etcd') {
      it('etcd unreachable: before its keys can expire the domain is paused (on_lockfailure); once etcd answers, resume', async (t) => {
        await hosts.a.ok('start', 'guarded');
        const frozenAt = Date.now();
        etcd?.freeze();
        let pausedAfter = 0;
        try {
          await eventually(async () => (await hosts.a.state('guarded')) === 'paused (lock failure)', 'A paused the domain', 15_000);
          pausedAfter = Date.now() - frozenAt;
          const r = await hosts.a.ferry('resume', 'guarded');
          assert.equal(r.code, 1, 'no resume while etcd cannot confirm the lease');
          assert.match(r.stderr, /cannot take the lease: etcd did not answer/);
          assert.match(r.stderr, /\[LOCK_BACKEND_FAILED\]/);
        } finally {
          etcd?.thaw();
        }
        assert.match(readFileSync(`${hosts.a.stateDir}/log/ferry-lockd.log`, 'utf8'), /etcd session lost/, 'ferry-lockd saw its etcd session go and exited');
        t.diagnostic(`paused ${pausedAfter} ms after etcd stopped answering (lease_ttl 3 s)`);
        await eventually(async () => (await hosts.a.ferry('resume', 'guarded')).code === 0, 'resume works once etcd answers', 20_000);
        assert.match(await hosts.a.ok('lock-list'), / exclusive +guarded +vda /);
        assert.match((await hosts.b.ferry('start', 'guarded')).stderr, /resource busy: Lockspace resource/);
        await assertNothingStarted(hosts.b, 'guarded');
        await hosts.a.ok('destroy', 'guarded');
      });

      it('a lease is lost when its holder (ferry-lockd) dies: etcd drops it after the TTL; ferryd takes it back', async () => {
        await hosts.a.ok('start', 'guarded');
        assert.equal((await hosts.b.ferry('start', 'guarded')).code, 1);
        await assertNothingStarted(hosts.b, 'guarded');
        const keys = (): string =>
          execFileSync('etcdctl', ['--endpoints', etcd?.endpoint ?? '', 'get', '--prefix', '/ferry/leases/', '--keys-only'], {
            encoding: 'utf8',
            env: { ...process.env, ETCDCTL_API: '3' },
          });
        assert.match(keys(), /exclusive\/.*:[0-9a-f-]{36}/, 'the lease is a key in etcd');
        // ferryd A stopped, so it cannot start lockd again while we watch etcd drop the dead holder's keys.
        const ferrydA = hosts.a.pid as number;
        process.kill(ferrydA, 'SIGSTOP');
        try {
          for (const pid of pidsMatching(hosts.a.lockdSocket)) process.kill(pid, 'SIGKILL');
          await eventually(() => keys().trim() === '', "etcd dropped the dead holder's lease (TTL 3 s)", 20_000);
        } finally {
          process.kill(ferrydA, 'SIGCONT');
        }
        await eventually(() => /exclusive\/.*:[0-9a-f-]{36}/.test(keys()), 'ferryd A started lockd again and took the lease back', 10_000);
        assert.match((await hosts.b.ferry('start', 'guarded')).stderr, /resource busy: Lockspace resource/);
        await assertNothingStarted(hosts.b, 'guarded');
        await hosts.a.ok('destroy', 'guarded');
      });
    }
  });
}

describe('lock manager defaults', () => {
  const hosts = new TwoHosts();
  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop();
  });

  it("without a lockspace directory the image itself is locked (the seed's first message)", async () => {
    const img = `${hosts.dir.path}/MasteringKVM01.qcow2`;
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img, '64M']);
    const f = `${hosts.dir.path}/m.xml`;
    writeFileSync(f, guestXml({ name: 'MasteringKVM01', disks: fileDisk(img) }));
    await hosts.a.ok('define', f);
    await hosts.b.ok('define', f);
    assert.equal(await hosts.b.ok('start', 'MasteringKVM01'), "Domain 'MasteringKVM01' started\n\n");
    const r = await hosts.a.ferry('start', 'MasteringKVM01');
    assert.equal(
      r.stderr.split('\n').slice(0, 2).join('\n'),
      `error: Failed to start domain 'MasteringKVM01'\nerror: resource busy: Lockspace resource '${img}' is locked`,
    );
    await assertNothingStarted(hosts.a, 'MasteringKVM01');
    await hosts.b.ok('destroy', 'MasteringKVM01');
  });

  it('a <lease> is held while the domain runs: a second domain with it is refused, it is free after stop, and a live migration hands it over', async () => {
    const leases = `${hosts.dir.path}/leases`;
    const lease = `<lease><lockspace>area</lockspace><key>thequickbrownfox</key><target path='${leases}' offset='0'/></lease>`;
    for (const name of ['leased1', 'leased2']) {
      const f = `${hosts.dir.path}/${name}.xml`;
      writeFileSync(f, guestXml({ name, devices: lease }));
      await hosts.a.ok('define', f);
    }
    await hosts.a.ok('start', 'leased1');
    assert.ok(existsSync(`${leases}/area/thequickbrownfox`), 'the lock file <target path>/<lockspace>/<key>');
    assert.match(await hosts.a.ok('lock-list'), new RegExp(`thequickbrownfox \\(${leases}/area/thequickbrownfox\\) +exclusive +leased1 +lease `));
    const r = await hosts.a.ferry('start', 'leased2');
    assert.equal(
      r.stderr.split('\n').slice(0, 2).join('\n'),
      "error: Failed to start domain 'leased2'\nerror: resource busy: Lockspace resource 'thequickbrownfox' is locked",
    );
    assert.match(r.stderr, /\[LOCK_HELD\]/);
    await assertNothingStarted(hosts.a, 'leased2');
    await hosts.a.ok('destroy', 'leased1');
    await hosts.a.ok('start', 'leased2');
    await hosts.a.ok('migrate', '--live', 'leased2', hosts.bPeer);
    assert.match(await hosts.b.ok('lock-list'), / exclusive +leased2 +lease /);
    assert.doesNotMatch(await hosts.a.ok('lock-list'), /leased2/);
    assert.match((await hosts.a.ferry('start', 'leased1')).stderr, /resource busy: Lockspace resource 'thequickbrownfox' is locked/, 'held by the domain on B');
    await assertNothingStarted(hosts.a, 'leased1');
    await hosts.b.ok('destroy', 'leased2');
    assert.equal(await hosts.a.ok('start', 'leased1'), "Domain 'leased1' started\n\n");
    await hosts.a.ok('destroy', 'leased1');
  });
});

lockScenarios('fcntl');
lockScenarios('etcd');
