import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { createCipheriv, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { ClusterCa } from '../../src/transport/cluster-ca.js';
import { qemuImg, serveFileOverNbd } from '../helpers/disk-servers.js';
import { guestXml } from '../helpers/guest.js';
import { qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** RFB's DES key: the password's first 8 bytes, each byte's bits reversed (RFC 6143 §7.2.2, as every VNC server reads it). */
function vncKey(password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = key[i] as number;
    let r = 0;
    for (let bit = 0; bit < 8; bit++) {
      r = (r << 1) | (b & 1);
      b >>= 1;
    }
    key[i] = r;
  }
  return key;
}

/**
 * A VNC client's handshake (RFB 3.8, RFC 6143 §7.1-7.2): the server's
 * version string, our answer, the security types it offers (2 = VNC
 * authentication); with a password, VNC authentication itself: DES of the
 * server's challenge, then the SecurityResult (0 = OK, 1 = failed).
 */
function vncHandshake(host: string, port: number, password?: string): Promise<{ types: number[]; result?: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    let buf = Buffer.alloc(0);
    let step: 'version' | 'types' | 'challenge' | 'result' = 'version';
    let types: number[] = [];
    const done = (r: { types: number[]; result?: number }): void => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(20_000, () => s.destroy(new Error(`no RFB handshake from ${host}:${port} (at ${step})`)));
    s.on('error', reject);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (step === 'version' && buf.length >= 12) {
        const version = buf.subarray(0, 12).toString('latin1');
        if (version !== 'RFB 003.008\n') return s.destroy(new Error(`unexpected RFB version ${JSON.stringify(version)}`));
        s.write('RFB 003.008\n');
        buf = buf.subarray(12);
        step = 'types';
      }
      if (step === 'types' && buf.length >= 1 && buf.length >= 1 + (buf[0] as number)) {
        types = [...buf.subarray(1, 1 + (buf[0] as number))];
        buf = buf.subarray(1 + types.length);
        if (password === undefined || !types.includes(2)) return done({ types });
        s.write(Buffer.from([2]));
        step = 'challenge';
      }
      if (step === 'challenge' && buf.length >= 16) {
        // Single DES as two-key 3DES with equal halves (E K, D K, E K = E K): OpenSSL 3 keeps plain DES in its legacy provider only.
        const key = vncKey(password as string);
        const cipher = createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null).setAutoPadding(false);
        s.write(Buffer.concat([cipher.update(buf.subarray(0, 16)), cipher.final()]));
        buf = buf.subarray(16);
        step = 'result';
      }
      if (step === 'result' && buf.length >= 4) done({ types, result: buf.readUInt32BE(0) });
    });
  });
}

function qemuCmdline(stateDir: string, uuid: string): string[] {
  const [pid] = qemuPidsOf(stateDir, uuid);
  assert.ok(pid, 'a QEMU runs for the domain');
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

function optionValue(argv: string[], option: string): string {
  const i = argv.indexOf(option);
  assert.ok(i >= 0, `${option} on QEMU's command line`);
  return argv[i + 1] as string;
}

/** A URI's host and port: vnc://H:DISPLAY → 5900+DISPLAY, spice://H:PORT, and SPICE's ?tls-port=N. */
function endpoint(uri: string): { host: string; port: number; tlsPort?: number } {
  const m = /^(vnc|spice):\/\/(?:[^@]*@)?([^:/?]+):(\d+)(?:\?tls-port=(\d+))?$/.exec(uri);
  assert.ok(m, `a display URI: ${uri}`);
  return { host: m[2] as string, port: Number(m[3]) + (m[1] === 'vnc' ? 5900 : 0), ...(m[4] === undefined ? {} : { tlsPort: Number(m[4]) }) };
}

/** A TLS handshake with a SPICE server's TLS port, trusting only `ca`: the certificate it presents, once the chain to `ca` is verified. */
function spiceTlsHandshake(port: number, ca: Buffer): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const cert = s.getPeerCertificate();
      s.destroy();
      resolve(cert);
    });
    s.setTimeout(20_000, () => s.destroy(new Error(`no TLS handshake from 127.0.0.1:${port}`)));
    s.on('error', reject);
  });
}

/** The NBD-over-TLS disk as QEMU has it: attached (query-block), its nbd node with the TLS credentials (query-named-block-nodes). */
async function checkNbdTlsDisk(host: TwoHosts['a'], name: string, port: number, where: string): Promise<void> {
  const qmp = async <T>(execute: string): Promise<T> =>
    (JSON.parse(await host.ok('qemu-monitor-command', name, JSON.stringify({ execute }))) as { return: T }).return;
  const blocks = await qmp<Array<{ qdev?: string; inserted?: { file: string; image: { 'virtual-size': number } } }>>('query-block');
  const vdt = blocks.find((b) => (b.qdev ?? '').includes('disk-vdt'))?.inserted;
  assert.equal(vdt?.image['virtual-size'], 5 << 20, `the NBD-over-TLS disk is attached on ${where}`);
  const nodes = await qmp<Array<{ 'node-name': string; drv: string; file: string }>>('query-named-block-nodes');
  const node = nodes.find((n) => n['node-name'] === 'file-vdt');
  assert.equal(node?.drv, 'nbd', `on ${where}`);
  assert.match(node?.file ?? '', new RegExp(`nbd://127\\.0\\.0\\.1:${port}/tlsexp`), `on ${where}`);
}

describe('graphics: VNC and SPICE displays, passwords, video models, and their move in a live migration', () => {
  const hosts = new TwoHosts();
  const name = 'gfx';
  const uuid = '5b7c1e0a-3f1d-4c1e-9a55-0f0e6a7d9b11';
  const password = 'pw-s3crt'; // VNC uses 8 characters
  // The hosts' certificates from a cluster CA (as "ferry cert-host-create localhost --ip 127.0.0.1" writes them):
  // SPICE's TLS port presents them, and NBD disks with tls='yes' connect with them to a qemu-nbd that only speaks TLS.
  const pki = `${hosts.dir.path}/pki`;
  let nbd: ChildProcess | undefined;
  let nbdPort = 0;

  before(async () => {
    const ca = new ClusterCa(`${pki}/ca`);
    await ca.create({ name: 'graphics test CA', days: 2 });
    await ca.issueHost({ hostname: 'localhost', addresses: ['127.0.0.1'], dnsNames: [], out: `${pki}/host`, days: 2 });
    qemuImg('create', '-f', 'raw', `${hosts.dir.path}/nbd-tls.raw`, '5M');
    const server = await serveFileOverNbd(`${hosts.dir.path}/nbd-tls.raw`, 'tlsexp', { tlsDir: `${pki}/host` });
    nbd = server.proc;
    nbdPort = server.port;
    await hosts.start({ config: `spice_tls = 1\nspice_tls_x509_cert_dir = "${pki}/host"\nnbd_tls_x509_cert_dir = "${pki}/host"\n` });
  });
  after(async () => {
    await hosts.stop();
    nbd?.kill();
  });

  it('serves VNC (password over QMP, websocket) and SPICE (plain and TLS ports) on the ports domdisplay names, with an NBD disk over TLS, on A and after a live migration on B', async () => {
    const caCert = readFileSync(`${pki}/ca/ca-cert.pem`);
    const hostCert = new X509Certificate(readFileSync(`${pki}/host/server-cert.pem`));
    // A client without TLS is refused by the NBD server the VM's disk uses.
    assert.throws(
      () => execFileSync('qemu-img', ['info', '--image-opts', `driver=nbd,host=127.0.0.1,port=${nbdPort},export=tlsexp`], { stdio: 'pipe' }),
      (err: { stderr?: Buffer }) => {
        assert.match(String(err.stderr), /TLS/, String(err.stderr));
        return true;
      },
    );
    await hosts.bootOnA({
      name,
      uuid,
      disks: `<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/><source protocol='nbd' name='tlsexp' tls='yes' tlsHostname='localhost'><host name='127.0.0.1' port='${nbdPort}'/></source><target dev='vdt' bus='virtio'/></disk>`,
      devices: `
        <graphics type='vnc' autoport='yes' websocket='-1' passwd='${password}' sharePolicy='allow-exclusive' powerControl='yes'/>
        <graphics type='spice' autoport='yes'><channel name='main' mode='secure'/><channel name='inputs' mode='insecure'/><image compression='auto_glz'/><streaming mode='filter'/><mouse mode='client'/></graphics>
        <video><model type='virtio' heads='1' primary='yes'/></video>
        <video><model type='qxl' ram='65536' vram='32768' vgamem='16384' heads='1'/></video>`,
    });
    // The password is never on QEMU's command line: VNC asks for one, set over QMP.
    const argv = qemuCmdline(hosts.a.stateDir, uuid);
    assert.ok(!argv.join(' ').includes(password), 'no password on the command line');
    assert.match(optionValue(argv, '-vnc'), /^127\.0\.0\.1:\d+,websocket=57\d\d,password=on,share=allow-exclusive,power-control=on$/);
    // spice_tls: autoport gives SPICE a TLS port too; QEMU reads a copy of the host's certificates in its run directory.
    assert.equal(
      optionValue(argv, '-spice').replace(/=59\d\d/g, '=N'),
      `port=N,tls-port=N,addr=127.0.0.1,disable-ticketing=on,x509-dir=${hosts.a.stateDir}/run/${uuid}/spice-tls,tls-channel=main,plaintext-channel=inputs,image-compression=auto_glz,streaming-video=filter,agent-mouse=on,seamless-migration=on`,
    );
    assert.ok(
      argv.includes(
        JSON.stringify({
          'qom-type': 'tls-creds-x509',
          id: 'objfile-vdt_tls0',
          dir: `${hosts.a.stateDir}/run/${uuid}/nbd-tls`,
          endpoint: 'client',
          'verify-peer': true,
        }),
      ),
      argv.join(' '),
    );
    assert.ok(
      argv.some((a) => a.startsWith('{"driver":"nbd",') && a.includes('"tls-creds":"objfile-vdt_tls0","tls-hostname":"localhost"')),
      argv.join(' '),
    );
    assert.ok(
      argv.some((a) => /^qxl,id=video1,/.test(a)),
      `a secondary qxl: ${argv.filter((a) => a.includes('video')).join(' ')}`,
    );

    const [vncA, spiceA] = (await hosts.a.ok('domdisplay', '--all', name)).trim().split('\n') as [string, string];
    assert.match(vncA, /^vnc:\/\/127\.0\.0\.1:\d+$/);
    assert.match(spiceA, /^spice:\/\/127\.0\.0\.1:59\d\d\?tls-port=59\d\d$/);
    // The TLS port completes a handshake whose certificate chains to the cluster CA: the host's own certificate.
    assert.equal((await spiceTlsHandshake(endpoint(spiceA).tlsPort as number, caCert)).fingerprint256, hostCert.fingerprint256);
    await checkNbdTlsDisk(hosts.a, name, nbdPort, 'A');
    assert.equal((await hosts.a.ok('vncdisplay', name)).trim(), vncA.replace('vnc://', ''));
    assert.equal((await hosts.a.ok('domdisplay', '--type', 'spice', name)).trim(), spiceA);
    assert.match((await hosts.a.ok('domdisplay', '--include-password', name)).trim(), new RegExp(`^vnc://:${password}@127\\.0\\.0\\.1:\\d+$`));
    // The password set over QMP is the one VNC checks: a client that knows it gets in, one that does not is refused.
    assert.deepEqual(await vncHandshake('127.0.0.1', endpoint(vncA).port), { types: [2] }, 'VNC authentication is the one type offered');
    assert.deepEqual(await vncHandshake('127.0.0.1', endpoint(vncA).port, password), { types: [2], result: 0 });
    assert.deepEqual(await vncHandshake('127.0.0.1', endpoint(vncA).port, 'wrong-pw'), { types: [2], result: 1 });
    // dumpxml hides the password unless asked for it.
    assert.ok(!(await hosts.a.ok('dumpxml', name)).includes(password));
    assert.ok((await hosts.a.ok('dumpxml', '--security-info', name)).includes(`passwd='${password}'`));
    const wsA = Number(/websocket='(\d+)'/.exec(await hosts.a.ok('dumpxml', name))?.[1]);
    await new Promise<void>((resolve, reject) =>
      net
        .connect(wsA, '127.0.0.1', function (this: net.Socket) {
          this.destroy();
          resolve();
        })
        .on('error', reject),
    );

    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state(name), 'running (migrated)');
    const [vncB, spiceB] = (await hosts.b.ok('domdisplay', '--all', name)).trim().split('\n') as [string, string];
    // B's QEMU got its own ports (A's were still taken while B prepared), and the live XML on B shows them.
    assert.notEqual(endpoint(vncB).port, endpoint(vncA).port);
    const liveB = await hosts.b.ok('dumpxml', name);
    assert.ok(liveB.includes(`<graphics type='vnc' port='${endpoint(vncB).port}'`), liveB);
    assert.ok(liveB.includes(`<graphics type='spice' port='${endpoint(spiceB).port}' tlsPort='${endpoint(spiceB).tlsPort}'`), liveB);
    assert.equal((await spiceTlsHandshake(endpoint(spiceB).tlsPort as number, caCert)).fingerprint256, hostCert.fingerprint256, "B's TLS port");
    await checkNbdTlsDisk(hosts.b, name, nbdPort, 'B');
    assert.deepEqual(await vncHandshake('127.0.0.1', endpoint(vncB).port, password), { types: [2], result: 0 }, 'the password was set on the destination too');
    // SPICE clients were told where to go: the source's SPICE server finished its part of the move (query-spice migrated).
    const logA = readFileSync(`${hosts.a.stateDir}/log/${name}.log`, 'utf8');
    assert.ok(logA.includes(`SPICE migration to ${spiceB} completed (query-spice migrated=true)`), logA.slice(-2000));
  });

  it('starts every video model on real QEMU and refuses the combinations QEMU or libvirt refuse', async () => {
    const models = ['vga', 'cirrus', 'bochs', 'ramfb', 'none', 'virtio', 'qxl'];
    // Every model on q35; on i440fx the two VGA-compatible ones its guests use most (QEMU's devices are the same, only the slot differs).
    for (const [machine, list] of [
      ['q35', models],
      ['pc', ['vga', 'cirrus']],
    ] as const) {
      for (const model of list) {
        const vm = `video-${machine}-${model}`;
        const file = `${hosts.dir.path}/${vm}.xml`;
        writeFileSync(
          file,
          guestXml({ name: vm, devices: `<graphics type='vnc'/><video><model type='${model}'/></video>` }).replace("machine='q35'", `machine='${machine}'`),
        );
        await hosts.a.ok('define', file);
        await hosts.a.ok('start', '--paused', vm);
        const argv = qemuCmdline(hosts.a.stateDir, /<uuid>([^<]+)<\/uuid>/.exec(await hosts.a.ok('dumpxml', vm))?.[1] as string);
        const driver = (
          { vga: 'VGA', cirrus: 'cirrus-vga', bochs: 'bochs-display', ramfb: 'ramfb', none: undefined, virtio: 'virtio-vga', qxl: 'qxl-vga' } as Record<
            string,
            string | undefined
          >
        )[model];
        const devices = argv.filter((_, i) => argv[i - 1] === '-device');
        if (driver)
          assert.ok(
            devices.some((d) => d.startsWith(`${driver},id=video0`)),
            `${machine}/${model}: ${devices.join(' ')}`,
          );
        else assert.ok(!devices.some((d) => d.includes('id=video')), `${machine}/none: no video device`);
        await hosts.a.ok('destroy', vm);
        await hosts.a.ok('undefine', vm);
      }
    }
    // <listen type='network'>: the network's address on this host; a network with none is refused at start.
    const br = `fgx${process.pid % 10000}`;
    const netXml = `${hosts.dir.path}/gfxnet.xml`;
    writeFileSync(netXml, `<network><name>gfxnet</name><bridge name='${br}'/><ip address='198.51.100.1' netmask='255.255.255.0'/></network>`);
    await hosts.a.ok('net-define', netXml);
    await hosts.a.ok('net-start', 'gfxnet');
    try {
      const onNet = `${hosts.dir.path}/gfx-net.xml`;
      writeFileSync(onNet, guestXml({ name: 'gfx-net', devices: "<graphics type='vnc'><listen type='network' network='gfxnet'/></graphics>" }));
      await hosts.a.ok('define', onNet);
      await hosts.a.ok('start', '--paused', 'gfx-net');
      const [uri] = (await hosts.a.ok('domdisplay', 'gfx-net')).trim().split('\n') as [string];
      assert.match(uri, /^vnc:\/\/198\.51\.100\.1:\d+$/);
      assert.deepEqual(await vncHandshake('198.51.100.1', endpoint(uri).port), { types: [1] }, 'no password: security type None');
      assert.match(await hosts.a.ok('dumpxml', 'gfx-net'), /<listen type='network' address='198\.51\.100\.1' network='gfxnet'\/>/);
      assert.match(await hosts.a.ok('dumpxml', '--inactive', 'gfx-net'), /<listen type='network' network='gfxnet'\/>/);
      await hosts.a.ok('destroy', 'gfx-net');
      await hosts.a.ok('undefine', 'gfx-net');
    } finally {
      await hosts.a.ferry('net-destroy', 'gfxnet');
      await hosts.a.ferry('net-undefine', 'gfxnet');
    }
    writeFileSync(netXml, `<network><name>gfxbare</name><bridge name='${br}b'/></network>`);
    await hosts.a.ok('net-define', netXml);
    await hosts.a.ok('net-start', 'gfxbare');
    try {
      const onBare = `${hosts.dir.path}/gfx-bare.xml`;
      writeFileSync(onBare, guestXml({ name: 'gfx-bare', devices: "<graphics type='vnc'><listen type='network' network='gfxbare'/></graphics>" }));
      await hosts.a.ok('define', onBare);
      const noAddress = await hosts.a.ferry('start', 'gfx-bare');
      assert.notEqual(noAddress.code, 0);
      assert.match(noAddress.stderr, /network-based listen isn't possible, network 'gfxbare' has no addresses[\s\S]*\[DISPLAY_LISTEN_UNAVAILABLE\]/);
      await hosts.a.ok('undefine', 'gfx-bare');
    } finally {
      await hosts.a.ferry('net-destroy', 'gfxbare');
      await hosts.a.ferry('net-undefine', 'gfxbare');
    }

    const bad = `${hosts.dir.path}/video-bad.xml`;
    writeFileSync(bad, guestXml({ name: 'video-bad', devices: "<video><model type='vga'/></video><video><model type='cirrus'/></video>" }));
    const refused = await hosts.a.ferry('define', bad);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /video type 'cirrus' is only valid as primary video device/);
    // A secure channel needs a TLS port: a display with a fixed plain port only is refused at start, in libvirt's words.
    writeFileSync(
      bad,
      guestXml({ name: 'spice-bad', devices: "<graphics type='spice' port='5990' autoport='no'><channel name='main' mode='secure'/></graphics>" }),
    );
    await hosts.a.ok('define', bad);
    const secure = await hosts.a.ferry('start', 'spice-bad');
    assert.notEqual(secure.code, 0);
    assert.match(secure.stderr, /spice secure channels set in XML configuration, but TLS connection is not available[\s\S]*\[DISPLAY_TLS_UNAVAILABLE\]/);
    await hosts.a.ok('undefine', 'spice-bad');
  });
});
