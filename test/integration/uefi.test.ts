import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { guestXml, REPO_ROOT, testGuest } from '../helpers/guest.js';
import { TwoHosts } from '../helpers/two-hosts.js';
import type { FerrydHost } from '../helpers/ferryd.js';
import { qemuPidsOf, untilPasses } from '../helpers/processes.js';

/** Retries `check` until it stops throwing, up to 3 minutes (OVMF under TCG is slow). */
const eventually = <T>(what: string, check: () => Promise<T>, timeoutMs = 180_000): Promise<T> => untilPasses(what, check, timeoutMs, 500);

/** Runs a shell script in the guest through its agent (guest-exec) and returns its output once it exited. */
async function guestRun(h: FerrydHost, name: string, script: string): Promise<string> {
  const started = JSON.parse(
    await h.ok(
      'qemu-agent-command',
      name,
      JSON.stringify({
        execute: 'guest-exec',
        arguments: { path: '/bin/sh', arg: ['-c', script], 'capture-output': true },
      }),
    ),
  ) as { return: { pid: number } };
  return eventually(
    `guest-exec ${script}`,
    async () => {
      const s = (
        JSON.parse(await h.ok('qemu-agent-command', name, JSON.stringify({ execute: 'guest-exec-status', arguments: { pid: started.return.pid } }))) as {
          return: { exited: boolean; exitcode?: number; 'out-data'?: string; 'err-data'?: string };
        }
      ).return;
      assert.ok(s.exited, 'still running');
      const out = Buffer.from(s['out-data'] ?? '', 'base64').toString();
      assert.equal(s.exitcode, 0, `${script}: ${out}${Buffer.from(s['err-data'] ?? '', 'base64').toString()}`);
      return out;
    },
    60_000,
  );
}

/**
 * The test guest's initrd plus efivarfs.ko (the guest kernel's own module), as a second cpio
 * archive in front of it (Linux unpacks both), so the guest can mount /sys/firmware/efi/efivars.
 */
function initrdWithEfivarfs(dir: string): string {
  const built = process.env.FERRY_GUEST_DIR ?? `${REPO_ROOT}.cache/guest`;
  const kver = readFileSync(`${built}/kernel-version`, 'utf8').trim();
  const rel = `lib/modules/${kver}/kernel/fs/efivarfs`;
  const ko = `${built}/work/kernel/${rel}/efivarfs.ko`;
  if (!existsSync(ko)) throw new Error(`${ko} missing: run scripts/build-guest.sh`);
  mkdirSync(`${dir}/extra/${rel}`, { recursive: true });
  copyFileSync(ko, `${dir}/extra/${rel}/efivarfs.ko`);
  const cpio = execFileSync('sh', ['-c', `cd ${dir}/extra && find lib | cpio -o -H newc --quiet`]);
  const out = `${dir}/initrd-efi.img`;
  // First, as early microcode is: the kernel unpacks an uncompressed archive and then the compressed one after it.
  writeFileSync(out, Buffer.concat([cpio, readFileSync(testGuest().initrd)]));
  return out;
}

const GUID = '5f1e7a2c-8d3b-4c6e-9a1f-0b2c3d4e5f60';
const VAR = `/sys/firmware/efi/efivars/FerryTest-${GUID}`;
const MOUNT =
  'insmod /lib/modules/$(uname -r)/kernel/fs/efivarfs/efivarfs.ko 2>/dev/null; grep -q efivarfs /proc/mounts || mount -t efivarfs efivarfs /sys/firmware/efi/efivars';
/** The variable's name as the firmware stores it (UCS-2) in the vars file. */
const NAME_IN_STORE = Buffer.from('FerryTest', 'utf16le');

/**
 * UEFI on real QEMU and OVMF (Debian's ovmf), one VM: <os firmware='efi'> with Secure Boot and no
 * enrolled keys is resolved at define from /usr/share/qemu/firmware, the NVRAM is created from its
 * template at the first start, the guest (Linux booted by OVMF, direct kernel boot) writes a UEFI
 * variable through efivarfs, and the variable is there after a live migration (restarted on the
 * destination, the guest reads it back) and after an offline migration; --undefinesource removes
 * the source's store, except when both hosts share it.
 */
describe('UEFI firmware and its NVRAM, through live and offline migrations', () => {
  const hosts = new TwoHosts();
  const name = 'uefivm';
  const varsA = (): string => `${hosts.a.stateDir}/nvram/${name}_VARS.fd`;
  const varsB = (): string => `${hosts.b.stateDir}/nvram/${name}_VARS.fd`;
  let xml = '';

  before(async () => {
    await hosts.start();
    const initrd = initrdWithEfivarfs(hosts.dir.path);
    xml = guestXml({
      name,
      bzImage: true,
      memoryMiB: 256,
      touchMiB: 8,
      hbMs: 500,
      type: 'qemu',
      devices: "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
    })
      .replace('<os>', "<os firmware='efi'>")
      .replace('</type>', "</type>\n    <firmware><feature enabled='yes' name='secure-boot'/><feature enabled='no' name='enrolled-keys'/></firmware>")
      .replace(/<initrd>[^<]*<\/initrd>/, `<initrd>${initrd}</initrd>`);
  });
  after(async () => {
    await hosts.stop();
  });

  it('chooses the firmware at define from the host descriptors, as libvirt (Secure Boot without enrolled keys; without Secure Boot)', async () => {
    writeFileSync(`${hosts.dir.path}/${name}.xml`, xml);
    await hosts.a.ok('define', `${hosts.dir.path}/${name}.xml`);
    const defined = await hosts.a.ok('dumpxml', name);
    assert.match(defined, /<os firmware='efi'>/);
    assert.match(defined, /<feature enabled='no' name='enrolled-keys'\/>\s*<feature enabled='yes' name='secure-boot'\/>/);
    assert.match(defined, /<loader readonly='yes' secure='yes' type='pflash' format='raw'>\/usr\/share\/OVMF\/OVMF_CODE_4M\.secboot\.fd<\/loader>/);
    assert.ok(defined.includes(`<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd' templateFormat='raw' format='raw'>${varsA()}</nvram>`), defined);
    assert.match(defined, /<smm state='on'\/>/);
    assert.equal(existsSync(varsA()), false, 'no NVRAM before the first start');

    // Without Secure Boot: the descriptor without SMM (60-edk2-x86_64.json); nothing is started.
    const plain = xml
      .replace(`<name>${name}</name>`, '<name>plainefi</name>')
      .replace("<feature enabled='yes' name='secure-boot'/><feature enabled='no' name='enrolled-keys'/>", "<feature enabled='no' name='secure-boot'/>");
    writeFileSync(`${hosts.dir.path}/plain.xml`, plain);
    await hosts.a.ok('define', `${hosts.dir.path}/plain.xml`);
    const plainXml = await hosts.a.ok('dumpxml', 'plainefi');
    assert.match(plainXml, /<loader readonly='yes' type='pflash' format='raw'>\/usr\/share\/OVMF\/OVMF_CODE_4M\.fd<\/loader>/);
    assert.doesNotMatch(plainXml, /<smm/);
    await hosts.a.ok('undefine', 'plainefi');

    // Secure Boot with SMM turned off is a contradiction, refused with its code and hint.
    const bad = xml.replace(`<name>${name}</name>`, '<name>badefi</name>').replace('<features>', "<features><smm state='off'/>");
    writeFileSync(`${hosts.dir.path}/bad.xml`, bad);
    const r = await hosts.a.ferry('define', `${hosts.dir.path}/bad.xml`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /secure-boot' needs SMM/);
  });

  it('boots OVMF with the store made from its template; the guest writes a UEFI variable into it', async () => {
    await hosts.a.ok('start', name);
    assert.equal(statSync(varsA()).size, statSync('/usr/share/OVMF/OVMF_VARS_4M.fd').size);
    const cmdline = qemuArgv(hosts.a.stateDir, /<uuid>([^<]+)<\/uuid>/.exec(await hosts.a.ok('dumpxml', name))?.[1] as string);
    assert.ok(cmdline.includes('driver=cfi.pflash01,property=secure,value=on'));
    assert.ok(cmdline.some((a) => a.includes('pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-storage')));
    await eventually('the guest starts qemu-ga', async () => assert.match(hosts.a.serialLog(name), /ferry-guest: agent started/));
    // Linux runs on UEFI; no keys are enrolled, so Secure Boot is off (SecureBoot's one data byte is 0) until the guest enrolls some.
    assert.equal(
      await guestRun(hosts.a, name, `${MOUNT}; tail -c 1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | od -An -tu1`),
      '   0\n',
    );
    const written = await guestRun(hosts.a, name, `${MOUNT}; printf '\\007\\000\\000\\000ferry-uefi-42' > ${VAR} && tail -c +5 ${VAR}`);
    assert.equal(written, 'ferry-uefi-42');
    assert.ok(readFileSync(varsA()).includes(NAME_IN_STORE), "the firmware wrote the variable into the domain's vars file");
  });

  it('a live migration takes the store along; restarted on the destination, the guest reads its variable back', async () => {
    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(varsB()).includes(NAME_IN_STORE));
    assert.equal(existsSync(varsA()), false, "--undefinesource removed the source's store (not shared)");
    assert.ok((await hosts.b.ok('dumpxml', '--inactive', name)).includes(`>${varsB()}</nvram>`));
    assert.ok((await hosts.b.ok('dumpxml', name)).includes(`>${varsB()}</nvram>`));

    await hosts.b.ok('destroy', name);
    await hosts.b.ok('start', name);
    await eventually('the guest starts qemu-ga on B', async () => assert.match(hosts.b.serialLog(name), /ferry-guest: agent started/));
    assert.equal(await guestRun(hosts.b, name, `${MOUNT}; tail -c +5 ${VAR}`), 'ferry-uefi-42');
  });

  it('an offline migration copies the store; on shared storage it stays where it is', async () => {
    await hosts.b.ok('destroy', name);
    const before = readFileSync(varsB());
    const r = await hosts.b.ferry('migrate', '--offline', '--persistent', '--undefinesource', name, hosts.aPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(varsA()), before);
    assert.equal(existsSync(varsB()), false);
    assert.ok((await hosts.a.ok('dumpxml', name)).includes(`>${varsA()}</nvram>`));

    // undefine, as virsh: refused while the store exists, unless --nvram (removed) or --keep-nvram.
    const u = await hosts.a.ferry('undefine', name);
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /cannot undefine domain with nvram/);
    await hosts.a.ok('undefine', '--nvram', name);
    assert.equal(existsSync(varsA()), false);

    // A store both hosts see at one path (here: the same file system) is neither copied nor removed.
    const shared = `${hosts.dir.path}/shared_VARS.fd`;
    copyFileSync('/usr/share/OVMF/OVMF_VARS_4M.fd', shared);
    const sharedXml = xml.replace(`<name>${name}</name>`, '<name>sharedefi</name>').replace('</firmware>', `</firmware>\n    <nvram>${shared}</nvram>`);
    writeFileSync(`${hosts.dir.path}/shared.xml`, sharedXml);
    await hosts.a.ok('define', `${hosts.dir.path}/shared.xml`);
    const s = await hosts.a.ferry('migrate', '--offline', '--persistent', '--undefinesource', 'sharedefi', hosts.bPeer);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(existsSync(shared), 'the shared store stays');
    assert.ok((await hosts.b.ok('dumpxml', 'sharedefi')).includes(`>${shared}</nvram>`));
    assert.equal(existsSync(`${hosts.b.stateDir}/nvram/sharedefi_VARS.fd`), false);

    // The pre-flight refuses a destination without the firmware the definition names (here: a copy of the code
    // that is gone by the time of the migration, as on a host without the ovmf package).
    const code = `${hosts.dir.path}/OVMF_CODE_gone.fd`;
    copyFileSync('/usr/share/OVMF/OVMF_CODE_4M.fd', code);
    const goneXml = xml
      .replace(`<name>${name}</name>`, '<name>goneefi</name>')
      .replace(/<firmware>.*<\/firmware>/, `<loader readonly='yes' type='pflash'>${code}</loader>`)
      .replace("<os firmware='efi'>", '<os>');
    writeFileSync(`${hosts.dir.path}/gone.xml`, goneXml);
    await hosts.a.ok('define', `${hosts.dir.path}/gone.xml`);
    rmSync(code);
    const g = await hosts.a.ferry('migrate', '--offline', '--persistent', 'goneefi', hosts.bPeer);
    assert.notEqual(g.code, 0);
    assert.match(g.stderr, /UEFI firmware/);
    assert.ok(g.stderr.includes(`${code} is not on`), g.stderr);
  });
});

function qemuArgv(stateDir: string, uuid: string): string[] {
  const [pid] = qemuPidsOf(stateDir, uuid);
  assert.ok(pid, 'a QEMU runs for the domain');
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}
