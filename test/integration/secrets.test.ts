import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { guestXml } from '../helpers/guest.js';
import { eventually, qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const PASS = 'correct-horse-battery-42';
const UUID = '5f3a8f0e-3b1c-4e57-9d21-7c0c2a1b9e11';
const PRIVATE_UUID = '5f3a8f0e-3b1c-4e57-9d21-7c0c2a1b9e12';
const TPM_UUID = '5f3a8f0e-3b1c-4e57-9d21-7c0c2a1b9e13';

async function qmp<T>(host: TwoHosts['a'], name: string, execute: string): Promise<T> {
  return (JSON.parse(await host.ok('qemu-monitor-command', name, JSON.stringify({ execute }))) as { return: T }).return;
}

/**
 * The secret store and LUKS disks on real QEMU: a passphrase defined with
 * secret-define and secret-set-value opens a LUKS image (raw LUKS, and a
 * qcow2 with LUKS encryption) that qemu-img created; QEMU gets it only as a
 * secret object encrypted with the VM's master key. A private secret's value
 * cannot be read back; the value is in no dumpxml and no ferryd log. The
 * VM's emulated TPM keeps its state encrypted with a vtpm secret. A domain
 * naming a missing secret, or one with a wrong passphrase (LUKS or TPM), does
 * not start; a migration to a host without the secrets is refused by the pre-flight.
 */
describe('secrets: a LUKS disk opened with a passphrase from the secret store', () => {
  const hosts = new TwoHosts();
  const dir = hosts.dir.path;
  let keyFile = '';

  before(async () => {
    await hosts.start();
    const key = `secret,id=s0,data=${PASS}`;
    execFileSync('qemu-img', ['create', '-q', '-f', 'luks', '--object', key, '-o', 'key-secret=s0,iter-time=10', `${dir}/luks.img`, '8M']);
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '--object',
      key,
      '-o',
      'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10',
      `${dir}/enc.qcow2`,
      '8M',
    ]);
    writeFileSync(
      `${dir}/secret.xml`,
      `<secret ephemeral='no' private='no'><uuid>${UUID}</uuid><usage type='volume'><volume>${dir}/luks.img</volume></usage></secret>`,
    );
    writeFileSync(
      `${dir}/private.xml`,
      `<secret ephemeral='no' private='yes'><uuid>${PRIVATE_UUID}</uuid><usage type='volume'><volume>${dir}/enc.qcow2</volume></usage></secret>`,
    );
    writeFileSync(`${dir}/pass.txt`, PASS);
    await hosts.a.ok('secret-define', `${dir}/secret.xml`);
    await hosts.a.ok('secret-define', `${dir}/private.xml`);
    writeFileSync(`${dir}/tpm.xml`, `<secret ephemeral='no' private='yes'><uuid>${TPM_UUID}</uuid><usage type='vtpm'><name>luks-tpm</name></usage></secret>`);
    await hosts.a.ok('secret-define', `${dir}/tpm.xml`);
    await hosts.a.ok('secret-set-value', TPM_UUID, Buffer.from('tpm-state-key').toString('base64'));
    await hosts.a.ok('secret-set-value', UUID, '--file', `${dir}/pass.txt`, '--plain');
    await hosts.a.ok('secret-set-value', PRIVATE_UUID, Buffer.from(PASS).toString('base64'));
    // vdb names its secret by uuid in <source> (libvirt's place), vdc by usage in <disk> (the old place).
    writeFileSync(
      `${dir}/luks.xml`,
      guestXml({
        name: 'luks',
        bzImage: true,
        disks: `<disk type='file' device='disk'><driver name='qemu' type='raw'/>
          <source file='${dir}/luks.img'><encryption format='luks' engine='qemu'><secret type='passphrase' uuid='${UUID}'/></encryption></source>
          <target dev='vdb' bus='virtio'/></disk>
        <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dir}/enc.qcow2'/><target dev='vdc' bus='virtio'/>
          <encryption format='luks'><secret type='passphrase' usage='${dir}/enc.qcow2'/></encryption></disk>`,
        devices: `<tpm model='tpm-crb'><backend type='emulator' version='2.0'><encryption secret='${TPM_UUID}'/></backend></tpm>`,
      }),
    );
    await hosts.a.ok('define', `${dir}/luks.xml`);
    await hosts.a.ok('start', 'luks');
  });

  after(async () => {
    await hosts.stop();
  });

  it('secret-list, secret-dumpxml (no value), secret-get-value (a private one refused)', async () => {
    const list = await hosts.a.ok('secret-list');
    assert.match(list, new RegExp(`${UUID}\\s+volume ${dir}/luks.img`));
    const xml = await hosts.a.ok('secret-dumpxml', PRIVATE_UUID);
    assert.match(xml, /<secret ephemeral='no' private='yes'>/);
    assert.doesNotMatch(xml, new RegExp(PASS));
    assert.equal((await hosts.a.ok('secret-get-value', UUID)).trim(), Buffer.from(PASS).toString('base64'));
    const r = await hosts.a.ferry('secret-get-value', PRIVATE_UUID);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /operation forbidden: secret is private[\s\S]*\[SECRET_PRIVATE\]/);
    const missing = await hosts.a.ferry('secret-dumpxml', '00000000-0000-0000-0000-000000000001');
    assert.match(missing.stderr, /Secret not found: no secret with matching uuid '00000000-0000-0000-0000-000000000001'[\s\S]*\[SECRET_NOT_FOUND\]/);
  });

  it('QEMU opens both encrypted images with the passphrase, given only encrypted with the master key; the guest sees the disks', async () => {
    const blocks = await qmp<Array<{ device: string; qdev: string; inserted?: { drv: string; encrypted: boolean; file: string } }>>(
      hosts.a,
      'luks',
      'query-block',
    );
    const vdb = blocks.find((b) => b.qdev === 'disk-vdb' || b.qdev.includes('disk-vdb'));
    const vdc = blocks.find((b) => b.qdev === 'disk-vdc' || b.qdev.includes('disk-vdc'));
    assert.equal(vdb?.inserted?.drv, 'luks', JSON.stringify(blocks));
    assert.equal(vdc?.inserted?.drv, 'qcow2');
    assert.equal(vdc?.inserted?.encrypted, true);
    const uuid = (await hosts.a.ok('domuuid', 'luks')).trim();
    // The swtpm's command line names the run directory too: QEMU is the one that is qemu-system.
    const pid = qemuPidsOf(hosts.a.stateDir, uuid).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('qemu-system'));
    assert.ok(pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const master = argv.find((a) => a.startsWith('secret,id=masterKey0,format=raw,file=')) ?? '';
    keyFile = master.replace(/^.*file=/, '');
    assert.equal(statSync(keyFile).size, 32);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.ok(
      argv.some((a) => /^secret,id=fmt-vdb-encryption-secret0,data=[A-Za-z0-9+/=]+,keyid=masterKey0,iv=/.test(a)),
      argv.join(' '),
    );
    assert.ok(argv.some((a) => a.includes('"driver":"luks","key-secret":"fmt-vdb-encryption-secret0"')));
    assert.ok(argv.some((a) => a.includes('"encrypt":{"format":"luks","key-secret":"fmt-vdc-encryption-secret0"}')));
    assert.ok(!argv.join(' ').includes(PASS), 'the passphrase is not on the command line');
    // The TPM's swtpm encrypts its state with the vtpm secret; the passphrase files are gone once read.
    const runDir = `${hosts.a.stateDir}/run/${uuid}`;
    const swtpm = readFileSync(`/proc/${readFileSync(`${runDir}/swtpm.pid`, 'utf8').trim()}/cmdline`, 'utf8').split('\0');
    assert.ok(swtpm.includes(`pwdfile=${runDir}/swtpm-state.pwd,mode=aes-256-cbc,remove=true`), swtpm.join(' '));
    assert.ok(swtpm.includes(`pwdfile=${runDir}/swtpm-migration.pwd,mode=aes-256-cbc,remove=true`));
    for (const f of ['swtpm-setup.pwd', 'swtpm-state.pwd', 'swtpm-migration.pwd']) assert.equal(existsSync(`${runDir}/${f}`), false, f);
    assert.match(await hosts.a.ok('dumpxml', 'luks'), new RegExp(`<encryption secret='${TPM_UUID}'/>`));
    // The guest names its virtio disks in probe order: vdb and vdc are its vda and vdb, 8 MiB each as qemu-img made them.
    await eventually(() => /ferry-guest: block vdb /.test(hosts.a.serialLog('luks')), 'the guest listing the encrypted disks', 120_000);
    assert.match(hosts.a.serialLog('luks'), /ferry-guest: block vda size=8388608 /);
    assert.match(hosts.a.serialLog('luks'), /ferry-guest: block vdb size=8388608 /);
    // The values are in no dumpxml and no log.
    const dumps = (await hosts.a.ok('dumpxml', 'luks')) + (await hosts.a.ok('dumpxml', '--inactive', 'luks'));
    assert.match(dumps, new RegExp(`<encryption format='luks'>\\s*<secret type='passphrase' usage='${dir}/enc.qcow2'/>`));
    const b64 = Buffer.from(PASS).toString('base64');
    for (const text of [dumps, readFileSync(hosts.a.logFile, 'utf8')]) {
      assert.ok(!text.includes(PASS) && !text.includes(b64), 'no secret value in dumpxml or the log');
    }
  });

  it('a migration to a host without the secret is refused by the pre-flight, naming it', async () => {
    const r = await hosts.a.ferry('migrate-check', 'luks', hosts.bPeer);
    assert.match(r.stdout + r.stderr, new RegExp(`disk 'vdb': secret uuid '${UUID}'.*not defined`));
    assert.match(r.stdout + r.stderr, new RegExp(`disk 'vdc': secret usage '${dir}/enc.qcow2'`));
    assert.match(r.stdout + r.stderr, new RegExp(`<tpm>: secret uuid '${TPM_UUID}'`));
  });

  it('a missing secret, one without a value, or a wrong passphrase: start refused, coded, with a hint', async () => {
    await hosts.a.ok('destroy', 'luks');
    assert.equal(existsSync(keyFile), false, 'the master key is deleted when the VM stops');
    await hosts.a.ok('secret-undefine', PRIVATE_UUID);
    let r = await hosts.a.ferry('start', 'luks');
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`disk 'vdc' <encryption>: Secret not found: no secret with matching usage '${dir}/enc.qcow2'`));
    assert.match(r.stderr, /hint: .*ferry secret-define FILE[\s\S]*\[SECRET_NOT_FOUND\]/);
    await hosts.a.ok('secret-define', `${dir}/private.xml`);
    r = await hosts.a.ferry('start', 'luks');
    assert.match(r.stderr, /secret '5f3a8f0e-3b1c-4e57-9d21-7c0c2a1b9e12' does not have a value[\s\S]*ferry secret-set-value[\s\S]*\[SECRET_NO_VALUE\]/);
    await hosts.a.ok('secret-set-value', PRIVATE_UUID, Buffer.from('wrong-passphrase').toString('base64'));
    r = await hosts.a.ferry('start', 'luks');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Invalid password, cannot unlock any keyslot[\s\S]*\[QEMU_LAUNCH_FAILED\]/);
    assert.match(await hosts.a.state('luks'), /^shut off/);
    // The right LUKS passphrase but another TPM passphrase: the state swtpm_setup encrypted cannot be read.
    await hosts.a.ok('secret-set-value', PRIVATE_UUID, Buffer.from(PASS).toString('base64'));
    await hosts.a.ok('secret-set-value', TPM_UUID, Buffer.from('another-key').toString('base64'));
    r = await hosts.a.ferry('start', 'luks');
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /tpm-emulator: TPM result for CMD_INIT: 0x101 operation failed[\s\S]*\[QEMU_LAUNCH_FAILED\]/);
    assert.match(await hosts.a.state('luks'), /^shut off/);
    await hosts.a.ok('secret-set-value', TPM_UUID, Buffer.from('tpm-state-key').toString('base64'));
    await hosts.a.ok('start', 'luks');
    assert.match(await hosts.a.state('luks'), /^running/);
  });
});
