import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { eventually, qemuPidsOf } from '../helpers/processes.js';
import { PtyCli } from '../helpers/pty-cli.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const BANNER = /Escape character is \^\] \(Ctrl \+ \]\)\r\n/;

/**
 * <filesystem type='mount'> (virtio-9p) on real QEMU: the guest (a shell on
 * ttyS1) mounts the export by its tag and reads what the host wrote; a
 * read-only export refuses writes. QEMU blocks migration while the export is
 * mounted: ferry's pre-flight refuses a live migration naming the filesystem;
 * once the guest unmounts it, the domain migrates live and mounts it again on B.
 */
describe('<filesystem> (virtio-9p) on real QEMU', () => {
  const hosts = new TwoHosts();
  const exportDir = `${hosts.dir.path}/export`;
  let n = 0;

  /** Runs a shell command in the guest (ttyS1, through ferry console) and returns what it printed up to the marker. */
  async function guestRun(host: FerrydHost, command: string): Promise<string> {
    const marker = `done-${++n}-$((6*7))`;
    const s = PtyCli.ferry(['console', 'fs9p', '--devname', 'serial1'], { FERRY_DEFAULT_URI: host.uri });
    try {
      const at = await s.waitFor(BANNER, 'the console banner');
      s.type(`${command}; echo ${marker}\r`);
      const end = await s.waitFor(new RegExp(`done-${n}-42\\r\\n`), `the guest running: ${command}`, { from: at, timeoutMs: 60_000 });
      s.type('\x1d');
      await s.result();
      return s.screen.slice(at, end);
    } finally {
      s.kill();
    }
  }

  before(async () => {
    await hosts.start();
    mkdirSync(exportDir);
    writeFileSync(`${exportDir}/hello.txt`, 'written-by-the-host-42\n');
    chmodSync(`${exportDir}/hello.txt`, 0o644);
    writeFileSync(`${hosts.dir.path}/ro.img`, Buffer.alloc(1 << 20));
    chmodSync(`${hosts.dir.path}/ro.img`, 0o644);
    // Not bootOnA(): with this many devices the guest's boot (module loading, its device report) takes longer under TCG
    // on a loaded machine than that helper's wait for heartbeats; the test waits for the shell it uses instead.
    writeFileSync(
      `${hosts.dir.path}/fs9p.xml`,
      guestXml({
        name: 'fs9p',
        extraCmdline: 'ferry.shells=ttyS1',
        devices: `<serial type='pty'/>
        <filesystem type='mount' accessmode='passthrough'><driver type='path' packed='on'/><source dir='${exportDir}'/><target dir='share'/><readonly/></filesystem>
        <rng model='virtio'><backend model='random'>/dev/urandom</backend><driver iommu='on' ats='on' packed='on'/></rng>
        <input type='keyboard' bus='virtio'><driver packed='on'/></input>
        <disk type='file' device='disk'><driver name='qemu' type='raw' cache='none' ats='on' packed='on'/><source file='${hosts.dir.path}/ro.img'/><target dev='vdb' bus='virtio'/><readonly/></disk>
        <controller type='scsi' model='virtio-scsi'><driver iommu='on'/></controller>
        <interface type='user'><model type='virtio'/><driver packed='on'/></interface>`,
      }),
    );
    await hosts.a.ok('define', `${hosts.dir.path}/fs9p.xml`);
    await hosts.a.ok('start', 'fs9p');
    await eventually(() => /\/ # /.test(hosts.a.serialLog('fs9p', 1)), "the guest's shell on ttyS1", 120_000);
  });

  after(async () => {
    await hosts.stop();
  });

  it("the guest mounts the export by its tag and reads the host's file; the read-only export refuses a write", async () => {
    const xml = await hosts.a.ok('dumpxml', 'fs9p');
    assert.match(
      xml,
      new RegExp(
        `<filesystem type='mount' accessmode='passthrough'>\\s*<driver type='path' packed='on'/>\\s*<source dir='${exportDir}'/>\\s*<target dir='share'/>\\s*<readonly/>`,
      ),
    );
    const out = await guestRun(
      hosts.a,
      'modprobe -a 9pnet_virtio 9p; mount -t 9p -o trans=virtio,version=9p2000.L share /mnt && cat /mnt/hello.txt; echo x > /mnt/new; echo write=$?',
    );
    assert.match(out, /written-by-the-host-42/);
    assert.match(out, /write=1/, out);
    assert.equal(existsSync(`${exportDir}/new`), false, 'nothing written through a read-only export');
  });

  it('QEMU runs the virtio options (packed ring, ATS, IOMMU platform) on the 9p, RNG, input, disk, SCSI and NIC devices; the guest uses the RNG and sees the disk', async () => {
    const uuid = (await hosts.a.ok('domuuid', 'fs9p')).trim();
    const [pid] = qemuPidsOf(hosts.a.stateDir, uuid);
    assert.ok(pid, 'a QEMU runs for the domain');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const dev = (driver: string): string => argv.find((a) => a.startsWith(`${driver},`)) ?? '';
    assert.match(dev('virtio-9p-pci'), /^virtio-9p-pci,packed=on,id=fs0,fsdev=fsdev-fs0,mount_tag=share,/);
    assert.ok(argv.includes(`local,security_model=passthrough,id=fsdev-fs0,path=${exportDir},readonly=on`), argv.join(' '));
    assert.match(dev('virtio-rng-pci'), /^virtio-rng-pci,iommu_platform=on,ats=on,packed=on,rng=objrng0,id=rng0,/);
    assert.match(dev('virtio-keyboard-pci'), /^virtio-keyboard-pci,packed=on,id=input\d+,/);
    assert.match(dev('virtio-blk-pci'), /^virtio-blk-pci,ats=on,packed=on,/);
    assert.match(dev('virtio-scsi-pci'), /^virtio-scsi-pci,iommu_platform=on,id=scsi0,/);
    assert.match(dev('virtio-net-pci'), /^virtio-net-pci,packed=on,netdev=hostnet0,/);
    await eventually(() => /ferry-guest: hwrng current=virtio_rng\.0 read=16/.test(hosts.a.serialLog('fs9p')), 'the guest reading its virtio RNG', 30_000);
    assert.match(hosts.a.serialLog('fs9p'), /ferry-guest: block vda size=1048576 .*ro=1/, 'the guest sees the packed-ring virtio disk');
  });

  it("a missing source directory: start fails with QEMU's own words, coded", async () => {
    const xml = (await hosts.a.ok('dumpxml', '--inactive', 'fs9p'))
      .replace(/<name>fs9p<\/name>/, '<name>fs-missing</name>')
      .replace(/<uuid>[^<]*<\/uuid>/, '')
      .replace(`<source dir='${exportDir}'/>`, `<source dir='${exportDir}-missing'/>`);
    writeFileSync(`${hosts.dir.path}/fs-missing.xml`, xml);
    await hosts.a.ok('define', `${hosts.dir.path}/fs-missing.xml`);
    const r = await hosts.a.ferry('start', 'fs-missing');
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`fsdev-fs0.*${exportDir}-missing[\\s\\S]*\\[QEMU_LAUNCH_FAILED\\]`));
    await hosts.a.ok('undefine', 'fs-missing');
  });

  it('a live migration while the guest has it mounted is refused by the pre-flight, naming the filesystem, with a hint', async () => {
    const r = await hosts.a.ferry('migrate', '--live', 'fs9p', hosts.bPeer);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /\[MIG_PREFLIGHT_FAILED\]/);
    assert.match(r.stdout + r.stderr, /filesystem 'share' mounted/);
    assert.match(r.stderr, /hint: Unmount it in the guest \(umount\) and migrate again, or shut the domain down and migrate it offline/);
    assert.equal(await hosts.a.state('fs9p'), 'running (booted)');
  });

  it('unmounted, it migrates live; on B the guest mounts it again and reads the file', async () => {
    await guestRun(hosts.a, 'umount /mnt');
    await hosts.a.ok('migrate', '--live', 'fs9p', hosts.bPeer);
    assert.equal(await hosts.b.state('fs9p'), 'running (migrated)');
    const out = await guestRun(hosts.b, 'mount -t 9p -o trans=virtio,version=9p2000.L share /mnt && cat /mnt/hello.txt');
    assert.match(out, /written-by-the-host-42/);
  });
});
