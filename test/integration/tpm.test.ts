import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestSh } from '../helpers/guest-exec.js';
import { guestXml } from '../helpers/guest.js';
import { pidsMatching, untilPasses } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

// Raw TPM 2.0 commands (TPM2_PCR_Extend, NV_DefineSpace, NV_Write, NV_Read), each with the empty owner /
// password session (TPM_RS_PW), as the guest writes them to /dev/tpm0: the test guest has no tpm2-tools.
const PW_SESSION = '00000009 40000009 0000 00 0000';
const NV_INDEX = '01000123';
const NV_DATA = Buffer.from('ferrytpm');
const DIGEST = Buffer.alloc(32, 0x11);
const COMMANDS = {
  extendPcr16: `8002 00000041 00000182 00000010 ${PW_SESSION} 00000001 000b ${DIGEST.toString('hex')}`,
  defineNv: `8002 0000002d 0000012a 40000001 ${PW_SESSION} 0000 000e ${NV_INDEX} 000b 00060006 0000 0008`,
  writeNv: `8002 0000002b 00000137 40000001 ${NV_INDEX} ${PW_SESSION} 0008 ${NV_DATA.toString('hex')} 0000`,
  readNv: `8002 00000023 0000014e 40000001 ${NV_INDEX} ${PW_SESSION} 0008 0000`,
};
/** PCR 16 (the resettable debug PCR) after one extend from its reset value. */
const PCR16_EXTENDED = createHash('sha256')
  .update(Buffer.concat([Buffer.alloc(32), DIGEST]))
  .digest('hex');

/** A guest shell line that sends one command to /dev/tpm0 and prints the response as hex. */
function tpmCommand(hex: string): string {
  const bytes = hex.replace(/\s+/g, '').match(/../g) ?? [];
  return `exec 3<>/dev/tpm0; printf '${bytes.map((b) => `\\x${b}`).join('')}' >&3; dd bs=4096 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \\n'; exec 3>&-; echo`;
}

const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** The TPM response code of a hex response (bytes 6..10); '00000000' is success. */
const responseCode = (hex: string): string => hex.trim().slice(12, 20);

/** PCR 16 (sha256 bank, from the kernel's sysfs) and the response to NV_Read, in one guest-exec. */
async function tpmState(host: FerrydHost, name: string): Promise<{ pcr16: string; nv: string }> {
  const [pcr = '', nv = ''] = (await guestSh(host, name, `cat /sys/class/tpm/tpm0/pcr-sha256/16; ${tpmCommand(COMMANDS.readNv)}`)).trim().split('\n');
  return { pcr16: pcr.trim().toLowerCase(), nv: nv.trim() };
}

const NV_READ_OK = `0008${NV_DATA.toString('hex')}0000010000`;

/**
 * An emulated TPM 2.0 (tpm-crb, swtpm run by ferryd) on real QEMU with the test
 * guest, which talks to it through /dev/tpm0: a PCR extended and an NV index
 * written on A are read back on B after a live migration, the NV index again
 * on A after an offline migration back and a fresh boot. swtpm starts and
 * stops with the VM (destroy, failed start, migration) and survives a ferryd
 * restart; the state directory goes with undefine and --undefinesource.
 */
describe('an emulated TPM (swtpm) through start, ferryd restart, live and offline migration', () => {
  const hosts = new TwoHosts();
  const name = 'tpmvm';
  const uuid = '7e3f0c2a-5b1d-4c8e-9f60-1a2b3c4d5e6f';
  const swtpmsOf = (h: FerrydHost): number[] => pidsMatching(`${h.stateDir}/run/${uuid}/swtpm.sock`).filter((p) => comm(p) === 'swtpm');
  const stateDir = (h: FerrydHost): string => `${h.stateDir}/swtpm/${uuid}/tpm2`;

  before(async () => {
    await hosts.start();
    await hosts
      .bootOnA({
        name,
        uuid,
        memoryMiB: 160,
        touchMiB: 8,
        hbMs: 200,
        bzImage: true,
        devices: `<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>`,
      })
      .catch((err) => {
        throw new Error(`${(err as Error).message}\nserial:\n${hosts.a.serialLog(name).slice(-3000)}`);
      });
    await untilPasses('the guest starts qemu-ga', async () => assert.match(hosts.a.serialLog(name), /ferry-guest: agent started/));
  });
  after(async () => {
    await hosts.stop();
  });

  it('runs swtpm with a state made at first start; QEMU gets the tpmdev as libvirt gives it; the guest extends a PCR and writes an NV index', async () => {
    assert.equal(swtpmsOf(hosts.a).length, 1, 'one swtpm for the VM');
    assert.ok(readdirSync(stateDir(hosts.a)).includes('tpm2-00.permall'), 'swtpm_setup made the TPM state');
    const qemu = pidsMatching(`${hosts.a.stateDir}/run/${uuid}/qmp.sock`).filter((p) => comm(p).startsWith('qemu'));
    const argv = readFileSync(`/proc/${qemu[0]}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes(`socket,id=chrtpm,path=${hosts.a.stateDir}/run/${uuid}/swtpm.sock`), argv.join(' '));
    assert.ok(argv.includes('emulator,id=tpm-tpm0,chardev=chrtpm'));
    assert.ok(argv.includes('{"driver":"tpm-crb","tpmdev":"tpm-tpm0","id":"tpm0"}'));
    assert.match(await hosts.a.ok('dumpxml', name), /<tpm model='tpm-crb'>\n\s*<backend type='emulator' version='2.0'\/>\n/);

    assert.deepEqual(
      await tpmState(hosts.a, name),
      { pcr16: '0'.repeat(64), nv: '80010000000a0000028b' },
      'PCR 16 at its reset value, no NV index yet (TPM_RC_HANDLE)',
    );
    const rcs = (await guestSh(hosts.a, name, [COMMANDS.extendPcr16, COMMANDS.defineNv, COMMANDS.writeNv].map(tpmCommand).join('\n')))
      .trim()
      .split('\n')
      .map(responseCode);
    assert.deepEqual(rcs, ['00000000', '00000000', '00000000'], 'PCR_Extend, NV_DefineSpace, NV_Write succeed');
    const after = await tpmState(hosts.a, name);
    assert.equal(after.pcr16, PCR16_EXTENDED);
    assert.ok(after.nv.endsWith(NV_READ_OK) && responseCode(after.nv) === '00000000', after.nv);
  });

  it('keeps swtpm across a ferryd restart', async () => {
    const before = swtpmsOf(hosts.a);
    await hosts.a.restart();
    assert.deepEqual(swtpmsOf(hosts.a), before);
    assert.equal((await tpmState(hosts.a, name)).pcr16, PCR16_EXTENDED);
  });

  it('live migration: B reads the PCR and the NV index; A keeps no swtpm and, with --undefinesource, no state', async () => {
    const checks = (
      JSON.parse(await hosts.a.ok('migrate-check', name, hosts.bPeer, '--json')) as { results: Array<{ id: string; outcome: string; reason: string }> }
    ).results;
    const tpmRow = checks.find((c) => c.id === 'tpm');
    assert.equal(tpmRow?.outcome, 'pass', JSON.stringify(checks));
    assert.match(tpmRow.reason, /^swtpm on .+ emulates a TPM 2\.0$/);
    await hosts.a.ok('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.match(await hosts.b.state(name), /^running/);
    const onB = await tpmState(hosts.b, name);
    assert.equal(onB.pcr16, PCR16_EXTENDED, 'the PCR (volatile state) came in the migration stream');
    assert.ok(onB.nv.endsWith(NV_READ_OK), onB.nv);
    assert.equal(swtpmsOf(hosts.b).length, 1);
    await untilPasses("A's swtpm ends with its QEMU", async () => assert.deepEqual(swtpmsOf(hosts.a), []), 10_000);
    assert.equal(existsSync(`${hosts.a.stateDir}/swtpm/${uuid}`), false, "A's TPM state went with the definition");
  });

  it('offline migration back to A carries the state: after a fresh boot there the NV index is still written (the PCR reset)', async () => {
    await hosts.b.ok('destroy', name);
    await untilPasses('destroy ends swtpm', async () => assert.deepEqual(swtpmsOf(hosts.b), []), 10_000);
    assert.ok(readdirSync(stateDir(hosts.b)).includes('tpm2-00.permall'), 'B keeps the state of its persistent domain');
    await hosts.b.ok('migrate', '--offline', '--persistent', '--undefinesource', name, hosts.aPeer);
    assert.equal(existsSync(`${hosts.b.stateDir}/swtpm/${uuid}`), false);
    await hosts.a.ok('start', name);
    await untilPasses(
      'qemu-ga on A',
      async () => assert.equal(await hosts.a.ok('qemu-agent-command', name, '{"execute":"guest-ping"}'), '{"return":{}}\n'),
      90_000,
    );
    const back = await tpmState(hosts.a, name);
    assert.ok(back.nv.endsWith(NV_READ_OK), `the NV index written before both migrations: ${back.nv}`);
    assert.equal(back.pcr16, '0'.repeat(64), 'a new boot: PCRs start over');
  });

  it('a start that fails leaves no swtpm; undefine removes the state, --keep-tpm keeps it', async () => {
    await hosts.a.ok('destroy', name);
    await untilPasses('destroy ends swtpm', async () => assert.deepEqual(swtpmsOf(hosts.a), []), 10_000);
    await hosts.a.ok('undefine', '--keep-tpm', name);
    assert.ok(existsSync(stateDir(hosts.a)), '--keep-tpm');

    // The same VM with a disk QEMU cannot open: swtpm started, QEMU failed, swtpm stopped again.
    const xml = guestXml({
      name,
      uuid,
      bzImage: true,
      disks: `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${hosts.dir.path}/missing.img'/><target dev='vda' bus='virtio'/></disk>`,
      devices: "<tpm model='tpm-tis'><backend type='emulator'/></tpm>",
    });
    writeFileSync(`${hosts.dir.path}/broken.xml`, xml);
    await hosts.a.ok('define', `${hosts.dir.path}/broken.xml`);
    const r = await hosts.a.ferry('start', name);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /missing\.img/);
    assert.deepEqual(swtpmsOf(hosts.a), []);
    assert.ok(readdirSync(stateDir(hosts.a)).includes('tpm2-00.permall'), 'the kept state is still there for the next start');

    await hosts.a.ok('undefine', name);
    assert.equal(existsSync(`${hosts.a.stateDir}/swtpm/${uuid}`), false);
  });

  it('refuses to boot the ELF kernel with an initrd and a TPM under SeaBIOS (QEMU would load the initrd over the ACPI tables), before swtpm starts', async () => {
    const xml = guestXml({ name: 'tpm-pvh', bzImage: true, devices: "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>" });
    const elf = xml.replace(/\/vmlinuz</, '/vmlinux<');
    assert.notEqual(elf, xml);
    writeFileSync(`${hosts.dir.path}/pvh.xml`, elf);
    await hosts.a.ok('define', `${hosts.dir.path}/pvh.xml`);
    const r = await hosts.a.ferry('start', 'tpm-pvh');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unsupported configuration: <kernel> '[^']*\/vmlinux' is an ELF kernel QEMU boots through its PVH entry/);
    assert.match(r.stderr, /bzImage/);
    assert.deepEqual(swtpmsOf(hosts.a), []);
    assert.match(await hosts.a.ok('domstate', 'tpm-pvh'), /shut off/);
    await hosts.a.ok('undefine', 'tpm-pvh');
  });
});
