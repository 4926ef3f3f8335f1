import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { guestXml } from '../helpers/guest.js';
import { qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/**
 * A VNC client's first steps (RFB 3.8, RFC 6143 §7.1): the server's version
 * string, our answer, then the security types it offers (2 = VNC
 * authentication, 1 = none). Resolves with those types.
 */
function rfbSecurityTypes(host: string, port: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    let buf = Buffer.alloc(0);
    let answered = false;
    s.setTimeout(20_000, () => s.destroy(new Error(`no RFB handshake from ${host}:${port}`)));
    s.on('error', reject);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!answered && buf.length >= 12) {
        const version = buf.subarray(0, 12).toString('latin1');
        if (version !== 'RFB 003.008\n') return s.destroy(new Error(`unexpected RFB version ${JSON.stringify(version)}`));
        s.write('RFB 003.008\n');
        answered = true;
        buf = buf.subarray(12);
      }
      if (answered && buf.length >= 1 && buf.length >= 1 + (buf[0] as number)) {
        const types = [...buf.subarray(1, 1 + (buf[0] as number))];
        s.destroy();
        resolve(types);
      }
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

/** A URI's host and port: vnc://H:DISPLAY → 5900+DISPLAY, spice://H:PORT. */
function endpoint(uri: string): { host: string; port: number } {
  const m = /^(vnc|spice):\/\/(?:[^@]*@)?([^:/]+):(\d+)$/.exec(uri);
  assert.ok(m, `a display URI: ${uri}`);
  return { host: m[2] as string, port: Number(m[3]) + (m[1] === 'vnc' ? 5900 : 0) };
}

describe('graphics: VNC and SPICE displays, passwords, video models, and their move in a live migration', () => {
  const hosts = new TwoHosts();
  const name = 'gfx';
  const uuid = '5b7c1e0a-3f1d-4c1e-9a55-0f0e6a7d9b11';
  const password = 'pw-s3cret';

  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop();
  });

  it('serves VNC (password over QMP, websocket) and SPICE on the ports domdisplay names, on A and after a live migration on B', async () => {
    await hosts.bootOnA({
      name, uuid,
      devices: `
        <graphics type='vnc' autoport='yes' websocket='-1' passwd='${password}' sharePolicy='allow-exclusive'/>
        <graphics type='spice' autoport='yes'><image compression='auto_glz'/><streaming mode='filter'/><mouse mode='client'/></graphics>
        <video><model type='virtio' heads='1' primary='yes'/></video>
        <video><model type='qxl' ram='65536' vram='32768' vgamem='16384' heads='1'/></video>`,
    });
    // The password is never on QEMU's command line: VNC asks for one, set over QMP.
    const argv = qemuCmdline(hosts.a.stateDir, uuid);
    assert.ok(!argv.join(' ').includes(password), 'no password on the command line');
    assert.match(optionValue(argv, '-vnc'), /^127\.0\.0\.1:\d+,websocket=57\d\d,password=on,share=allow-exclusive$/);
    assert.match(optionValue(argv, '-spice'), /^port=59\d\d,addr=127\.0\.0\.1,disable-ticketing=on,image-compression=auto_glz,streaming-video=filter,agent-mouse=on,seamless-migration=on$/);
    assert.ok(argv.some((a) => /^qxl,id=video1,/.test(a)), `a secondary qxl: ${argv.filter((a) => a.includes('video')).join(' ')}`);

    const [vncA, spiceA] = (await hosts.a.ok('domdisplay', '--all', name)).trim().split('\n') as [string, string];
    assert.match(vncA, /^vnc:\/\/127\.0\.0\.1:\d+$/);
    assert.match(spiceA, /^spice:\/\/127\.0\.0\.1:59\d\d$/);
    assert.equal((await hosts.a.ok('vncdisplay', name)).trim(), vncA.replace('vnc://', ''));
    assert.equal((await hosts.a.ok('domdisplay', '--type', 'spice', name)).trim(), spiceA);
    assert.match((await hosts.a.ok('domdisplay', '--include-password', name)).trim(), new RegExp(`^vnc://:${password}@127\\.0\\.0\\.1:\\d+$`));
    assert.deepEqual(await rfbSecurityTypes('127.0.0.1', endpoint(vncA).port), [2], 'VNC authentication is the one type offered');
    // dumpxml hides the password unless asked for it.
    assert.ok(!(await hosts.a.ok('dumpxml', name)).includes(password));
    assert.ok((await hosts.a.ok('dumpxml', '--security-info', name)).includes(`passwd='${password}'`));
    const wsA = Number(/websocket='(\d+)'/.exec(await hosts.a.ok('dumpxml', name))?.[1]);
    await new Promise<void>((resolve, reject) => net.connect(wsA, '127.0.0.1', function (this: net.Socket) { this.destroy(); resolve(); }).on('error', reject));

    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state(name), 'running (migrated)');
    const [vncB, spiceB] = (await hosts.b.ok('domdisplay', '--all', name)).trim().split('\n') as [string, string];
    // B's QEMU got its own ports (A's were still taken while B prepared), and the live XML on B shows them.
    assert.notEqual(endpoint(vncB).port, endpoint(vncA).port);
    const liveB = await hosts.b.ok('dumpxml', name);
    assert.ok(liveB.includes(`<graphics type='vnc' port='${endpoint(vncB).port}'`), liveB);
    assert.ok(liveB.includes(`<graphics type='spice' port='${endpoint(spiceB).port}'`), liveB);
    assert.deepEqual(await rfbSecurityTypes('127.0.0.1', endpoint(vncB).port), [2], 'the password was set on the destination too');
    // SPICE clients were told where to go: the source's SPICE server finished its part of the move (query-spice migrated).
    const logA = readFileSync(`${hosts.a.stateDir}/log/${name}.log`, 'utf8');
    assert.ok(logA.includes(`SPICE migration to ${spiceB} completed (query-spice migrated=true)`), logA.slice(-2000));
  });

  it('starts every video model on real QEMU and refuses the combinations QEMU or libvirt refuse', async () => {
    const models = ['vga', 'cirrus', 'bochs', 'ramfb', 'none', 'virtio', 'qxl'];
    for (const machine of ['q35', 'pc']) {
      for (const model of models) {
        const vm = `video-${machine}-${model}`;
        const file = `${hosts.dir.path}/${vm}.xml`;
        writeFileSync(file, guestXml({ name: vm, devices: `<graphics type='vnc'/><video><model type='${model}'/></video>` }).replace("machine='q35'", `machine='${machine}'`));
        await hosts.a.ok('define', file);
        await hosts.a.ok('start', '--paused', vm);
        const argv = qemuCmdline(hosts.a.stateDir, /<uuid>([^<]+)<\/uuid>/.exec(await hosts.a.ok('dumpxml', vm))?.[1] as string);
        const driver = { vga: 'VGA', cirrus: 'cirrus-vga', bochs: 'bochs-display', ramfb: 'ramfb', none: undefined, virtio: 'virtio-vga', qxl: 'qxl-vga' }[model];
        const devices = argv.filter((_, i) => argv[i - 1] === '-device');
        if (driver) assert.ok(devices.some((d) => d.startsWith(`${driver},id=video0`)), `${machine}/${model}: ${devices.join(' ')}`);
        else assert.ok(!devices.some((d) => d.includes('id=video')), `${machine}/none: no video device`);
        await hosts.a.ok('destroy', vm);
        await hosts.a.ok('undefine', vm);
      }
    }
    const bad = `${hosts.dir.path}/video-bad.xml`;
    writeFileSync(bad, guestXml({ name: 'video-bad', devices: "<video><model type='vga'/></video><video><model type='cirrus'/></video>" }));
    const refused = await hosts.a.ferry('define', bad);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /video type 'cirrus' is only valid as primary video device/);
    writeFileSync(bad, guestXml({ name: 'video-bad', devices: "<graphics type='spice' tlsPort='5901'/>" }));
    const tls = await hosts.a.ferry('define', bad);
    assert.notEqual(tls.code, 0);
    assert.match(tls.stderr, /tlsPort='5901' needs SPICE TLS/);
  });
});
