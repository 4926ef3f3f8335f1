import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { runFerry } from '../helpers/ferryd.js';
import { guestXml, REPO_ROOT } from '../helpers/guest.js';
import { eventually, qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** The -device drivers (and other options) of a running QEMU, from its command line. */
function qemuArgv(stateDir: string, uuid: string): string[] {
  const [pid] = qemuPidsOf(stateDir, uuid);
  assert.ok(pid, 'a QEMU runs for the domain');
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

function optionValues(argv: string[], option: string): string[] {
  return argv.flatMap((a, i) => (a === option ? [argv[i + 1] as string] : []));
}

function driverCounts(argv: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of optionValues(argv, '-device')) {
    const driver = d.startsWith('{') ? (JSON.parse(d) as { driver: string }).driver : (d.split(',')[0] as string);
    counts.set(driver, (counts.get(driver) ?? 0) + 1);
  }
  return counts;
}

/** The devices of a definition, kind by kind, as dumpxml lists them. */
function deviceKinds(xml: string): string[] {
  const devices = /<devices>([\s\S]*)<\/devices>/.exec(xml)?.[1] ?? '';
  return [...devices.matchAll(/^ {4}<([a-z]+)[ >/]/gm)].map((m) => m[1] as string);
}

/**
 * virt-install's own definitions (Debian 12's virtinst 4.1 writing for libvirt 9: Debian 11, Windows 10 and
 * Windows 11 on q35), run unchanged on real QEMU: only the host-specific names are replaced (the image path,
 * with a fresh qcow2, the installer ISO's, and the bridge, with one this test creates). Every device they
 * define must be on QEMU's command line, and a live migration must carry the whole machine (QEMU loads each
 * device's state). Windows 11's is UEFI (OVMF, Secure Boot with Microsoft's keys) with a TPM 2.0 (swtpm):
 * OVMF boots to its boot menu before the migration, which must carry the variables it wrote and the TPM's state.
 */
describe('virt-install definitions run and migrate as defined', () => {
  const hosts = new TwoHosts();
  const bridge = `fvi${randomBytes(3).toString('hex')}`;

  /** Defines a fixture on A, unchanged but for its host paths, and starts it; `defined` is its stored definition. */
  async function defineAndStart(fixture: string): Promise<{ name: string; uuid: string; xml: string; defined: string }> {
    const original = readFileSync(`${REPO_ROOT}test/fixtures/virt-install/${fixture}`, 'utf8');
    const name = /<name>([^<]+)<\/name>/.exec(original)?.[1] as string;
    const uuid = /<uuid>([^<]+)<\/uuid>/.exec(original)?.[1] as string;
    const image = `${hosts.dir.path}/${name}.qcow2`;
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '1G']);
    const iso = `${hosts.dir.path}/${name}.iso`;
    writeFileSync(iso, Buffer.alloc(1 << 20));
    const xml = original
      .replace(/<source file="\/var\/lib\/ferry\/images\/[^"]+"\/>/, `<source file="${image}"/>`)
      .replace(/<source file="\/var\/lib\/ferry\/iso\/[^"]+"\/>/, `<source file="${iso}"/>`)
      .replace(/<source bridge="[^"]+"\/>/, `<source bridge="${bridge}"/>`);
    const file = `${hosts.dir.path}/${fixture}`;
    writeFileSync(file, xml);
    await hosts.a.ok('define', file);
    const defined = await hosts.a.ok('dumpxml', '--inactive', name);
    await hosts.a.ok('start', name);
    return { name, uuid, xml, defined };
  }
  /** Fixtures started in before(): OVMF boots Windows 11's (some 20 s under TCG) while the other tests run. */
  const started = new Map<string, ReturnType<typeof defineAndStart>>();

  before(async () => {
    execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
    execFileSync('ip', ['link', 'set', bridge, 'up']);
    await hosts.start();
    const win11 = defineAndStart('win11-q35.xml');
    win11.catch(() => undefined); // its test reports the failure
    started.set('win11-q35.xml', win11);
  });
  after(async () => {
    await hosts.stop();
    execFileSync('ip', ['link', 'del', bridge]);
  });

  const expected: Record<string, Record<string, number>> = {
    'debian11-q35.xml': {
      'qemu-xhci': 1,
      'pcie-root-port': 14,
      'virtio-blk-pci': 1,
      'virtio-net-pci': 1,
      'virtio-serial-pci': 1,
      virtserialport: 2,
      'usb-tablet': 1,
      'ich9-intel-hda': 1,
      'hda-duplex': 1,
      'virtio-vga': 1,
      'usb-redir': 2,
      'virtio-balloon-pci': 1,
      'virtio-rng-pci': 1,
      'isa-serial': 1,
    },
    'win10-q35.xml': {
      'qemu-xhci': 1,
      'pcie-root-port': 14,
      'ide-hd': 1,
      e1000e: 1,
      'virtio-serial-pci': 1,
      virtserialport: 1,
      'usb-tablet': 1,
      'ich9-intel-hda': 1,
      'hda-duplex': 1,
      'qxl-vga': 1,
      'usb-redir': 2,
      'virtio-balloon-pci': 1,
      'isa-serial': 1,
    },
    'win11-q35.xml': {
      'qemu-xhci': 1,
      'pcie-root-port': 14,
      'ide-hd': 1,
      'ide-cd': 1,
      e1000e: 1,
      'virtio-serial-pci': 1,
      virtserialport: 1,
      'usb-tablet': 1,
      'ich9-intel-hda': 1,
      'hda-duplex': 1,
      'qxl-vga': 1,
      'usb-redir': 2,
      'virtio-balloon-pci': 1,
      'isa-serial': 1,
      'tpm-crb': 1,
    },
  };

  it("a serial port's file with <source append='on'> keeps what the source wrote when the destination opens it", async () => {
    const out = `${hosts.dir.path}/console-append.txt`;
    // The guest's console (and so ferry-load's heartbeats) on the file serial port, ttyS1.
    writeFileSync(
      `${hosts.dir.path}/appender.xml`,
      guestXml({
        name: 'appender',
        memoryMiB: 128,
        hbMs: 100,
        devices: `<serial type='file'><source path='${out}' append='on'/><target port='1'/></serial>`,
        console: 'ttyS1',
      }),
    );
    await hosts.a.ok('define', `${hosts.dir.path}/appender.xml`);
    await hosts.a.ok('start', 'appender');
    await eventually(() => existsSync(out) && /ferry-load: hb seq=\d+/.test(readFileSync(out, 'utf8')), 'heartbeats in the file', 60_000);
    const before = readFileSync(out, 'utf8');
    await hosts.a.ok('migrate', '--live', 'appender', hosts.bPeer);
    assert.equal(await hosts.b.state('appender'), 'running (migrated)');
    const seq = Number([...before.matchAll(/ferry-load: hb seq=(\d+) /g)].at(-1)?.[1]);
    assert.ok(Number.isInteger(seq), 'the source wrote heartbeats');
    await eventually(() => readFileSync(out, 'utf8').includes(`hb seq=${seq + 5} `), 'the destination writes on');
    assert.ok(readFileSync(out, 'utf8').startsWith(before), 'the destination appended: what the source wrote is still there');
    await hosts.b.ok('destroy', 'appender');
  });

  for (const [fixture, devices] of Object.entries(expected)) {
    it(`${fixture}: defines, starts with every device on QEMU's command line, and migrates live with all of them`, async () => {
      const { name, uuid, xml, defined } = await (started.get(fixture) ?? defineAndStart(fixture));
      // Every device virt-install wrote is in the definition, and each PCI device got its address at define.
      const kinds = deviceKinds(defined);
      for (const kind of deviceKinds(xml)) assert.ok(kinds.includes(kind), `dumpxml keeps <${kind}>`);
      assert.equal(kinds.filter((k) => k === 'controller').length >= 16, true);
      assert.equal((defined.match(/<address type='pci'/g) ?? []).length >= 14 + 6, true, 'root ports and endpoints have PCI addresses');

      const argv = qemuArgv(hosts.a.stateDir, uuid);
      const counts = driverCounts(argv);
      for (const [driver, n] of Object.entries(devices))
        assert.equal(counts.get(driver) ?? 0, n, `${n} × -device ${driver} in ${optionValues(argv, '-device').join('\n')}`);
      assert.equal(optionValues(argv, '-spice').length, 1, 'SPICE graphics');
      assert.match(optionValues(argv, '-spice')[0] as string, /port=59\d\d,addr=127\.0\.0\.1,disable-ticketing=on/);
      assert.deepEqual(optionValues(argv, '-audiodev'), ['spice,id=audio1']);
      const uefi = fixture.startsWith('win11');
      assert.match(
        optionValues(argv, '-machine')[0] as string,
        uefi
          ? /^pc-q35-[\d.]+,usb=off,dump-guest-core=off,vmport=off,smm=on,hpet=off,pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-storage$/
          : /^pc-q35-[\d.]+,usb=off,dump-guest-core=off,vmport=off,hpet=off$/,
      );
      assert.match(optionValues(argv, '-rtc')[0] as string, /driftfix=slew/);
      assert.ok(optionValues(argv, '-global').includes('ICH9-LPC.disable_s3=1'));
      if (fixture.startsWith('win')) {
        assert.match(optionValues(argv, '-cpu')[0] as string, /hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-time=on/);
        assert.match(optionValues(argv, '-rtc')[0] as string, /^base=localtime/);
      }
      if (uefi) {
        // <os firmware='efi'> alone: libvirt's choice on Debian 12, Secure Boot with Microsoft's keys (SMM on, the
        // flash writable from SMM only), a per-domain store from the .ms template; the TPM is swtpm's TPM 2.0.
        assert.match(defined, /<loader readonly='yes' secure='yes' type='pflash' format='raw'>\/usr\/share\/OVMF\/OVMF_CODE_4M\.ms\.fd<\/loader>/);
        assert.match(defined, /<nvram template='\/usr\/share\/OVMF\/OVMF_VARS_4M\.ms\.fd' templateFormat='raw' format='raw'>/);
        assert.match(defined, /<smm state='on'\/>/);
        assert.match(defined, /<backend type='emulator' version='2\.0'\/>/);
        assert.ok(optionValues(argv, '-global').includes('driver=cfi.pflash01,property=secure,value=on'));
        assert.deepEqual(optionValues(argv, '-tpmdev'), ['emulator,id=tpm-tpm0,chardev=chrtpm']);
        assert.deepEqual(optionValues(argv, '-netdev'), ['user,id=hostnet0']);
        // OVMF runs: it enforces Secure Boot (its own unsigned shell is refused), finds nothing to boot on the empty
        // disk, and waits in the boot menu; on the way it found the TPM 2.0 and wrote its TCG2 variables.
        await eventually(() => /BdsDxe: No bootable option or device was found/.test(hosts.a.serialLog(name)), 'OVMF reaches its boot menu', 180_000);
        assert.match(hosts.a.serialLog(name), /BdsDxe: failed to start Boot\d+ "EFI Internal Shell" .*: Security Violation/);
      }
      const nvramA = `${hosts.a.stateDir}/nvram/${name}_VARS.fd`;
      const tpmA = `${hosts.a.stateDir}/swtpm/${uuid}/tpm2/tpm2-00.permall`;
      const [varsBefore, tpmBefore] = uefi ? [readFileSync(nvramA), readFileSync(tpmA)] : [];
      if (varsBefore) for (const v of ['BootOrder', 'TCG2_DEVICE_DETECTION']) assert.ok(varsBefore.includes(Buffer.from(v, 'utf16le')), `${v} in the store`);
      const liveBefore = await hosts.a.ok('dumpxml', name);
      // virt-install's lone <console type='pty'> is serial0's pty: a console session attaches (its input ends at once, and so does the session).
      const consoleOn = async (host: typeof hosts.a): Promise<void> => {
        const c = await runFerry(['console', name], { FERRY_DEFAULT_URI: host.uri }, '');
        assert.equal(c.code, 0, c.stderr);
        assert.match(c.stdout, new RegExp(`^Connected to domain '${name}'\n`));
      };
      await consoleOn(hosts.a);

      // virt-install leaves the disk cache at the default (writeback), which ferry, as libvirt, calls unsafe to migrate.
      const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', '--unsafe', name, hosts.bPeer);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await hosts.b.state(name), 'running (migrated)');
      await consoleOn(hosts.b);
      const after = qemuArgv(hosts.b.stateDir, uuid);
      assert.deepEqual(driverCounts(after), counts, 'the destination runs the same devices');
      const strip = (x: string): string =>
        x
          .replace(/\/[ab]\/state\//g, '/H/state/')
          .replace(/ id='\d+'/, '')
          .replace(/port='59\d\d'/g, 'port=P')
          .replace(/<target dev='[^']+'\/>/g, '');
      assert.equal(strip(await hosts.b.ok('dumpxml', name)), strip(liveBefore), 'the destination runs the same machine');
      if (varsBefore && tpmBefore) {
        // The UEFI variables and the TPM's state came along.
        assert.ok(readFileSync(`${hosts.b.stateDir}/nvram/${name}_VARS.fd`).equals(varsBefore), 'the NVRAM store on B is the one OVMF wrote on A');
        assert.ok(readFileSync(`${hosts.b.stateDir}/swtpm/${uuid}/tpm2/tpm2-00.permall`).equals(tpmBefore), "the TPM's state on B is A's");
        assert.equal(existsSync(nvramA) || existsSync(tpmA), false, '--undefinesource took them from A');
      }
      await hosts.b.ok('destroy', name);
      await hosts.b.ok('undefine', ...(uefi ? ['--nvram'] : []), name);
    });
  }
});
