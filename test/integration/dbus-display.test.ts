import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { eventually, pidsMatching, qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const run = promisify(execFile);

const uuid = '3d1b5c7e-9a2f-4e60-8b1c-0d2e4f6a8b9c';
const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};
const owner = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
const argAfter = (argv: string[], flag: string): string[] => argv.flatMap((a, i) => (a === flag ? [argv[i + 1] as string] : []));

/**
 * QEMU's D-Bus display as libvirt runs it, on real QEMU and a real dbus-daemon:
 * ferryd starts the domain's own bus (as QEMU's user, dbus.sock in the run
 * directory), QEMU registers org.qemu on it with /org/qemu/Display1/VM named
 * after the domain, a D-Bus audio backend and serial channel ride on it; the
 * bus survives a ferryd restart; after a live migration the destination runs
 * its own (the source's is gone); it goes with destroy and with a failed start.
 * A p2p display starts with no bus at all.
 */
describe('the D-Bus display (<graphics type=dbus>) and its private bus', () => {
  const hosts = new TwoHosts();
  const dir = hosts.dir;
  let host: FerrydHost;
  const socket = (h = host): string => `${h.stateDir}/run/${uuid}/dbus.sock`;
  const daemons = (h = host): number[] => pidsMatching(`${h.stateDir}/run/${uuid}/dbus.conf`).filter((p) => comm(p) === 'dbus-daemon');
  const busctl = async (h: FerrydHost, ...args: string[]): Promise<string> =>
    (await run('busctl', [`--address=unix:path=${socket(h)}`, ...args], { timeout: 20_000 })).stdout;
  const vmName = async (h: FerrydHost): Promise<string> =>
    (await busctl(h, 'get-property', 'org.qemu', '/org/qemu/Display1/VM', 'org.qemu.Display1.VM', 'Name')).trim();

  before(async () => {
    await hosts.start();
    host = hosts.a;
    writeFileSync(
      `${dir.path}/dbus.xml`,
      guestXml({
        name: 'dbusvm',
        uuid,
        devices: `<graphics type='dbus'><gl enable='no'/><audio id='1'/></graphics>
        <audio id='1' type='dbus'/>
        <serial type='dbus'><source channel='org.qemu.console.serial.1'/></serial>`,
      }),
    );
    await host.ok('define', `${dir.path}/dbus.xml`);
  });

  after(async () => {
    await hosts.b?.ferry('destroy', 'dbusvm');
    await host?.ferry('destroy', 'dbusvm');
    await host?.ferry('destroy', 'dbusp2p');
    if (host) await eventually(() => daemons(hosts.a).length === 0 && daemons(hosts.b).length === 0, 'no bus left');
    await hosts.stop();
  });

  it("runs the domain's own bus with QEMU's display on it, shown in the live XML; a ferryd restart keeps it; a migration's destination runs its own; destroy ends it", async () => {
    await host.ok('start', 'dbusvm');
    const [daemon] = daemons();
    assert.ok(daemon, 'a dbus-daemon runs for the domain');
    const [qemu] = qemuPidsOf(host.stateDir, uuid).filter((p) => comm(p).startsWith('qemu'));
    assert.ok(qemu);
    assert.equal(owner(daemon), owner(qemu), "the bus runs as QEMU's user");
    const argv = cmdline(qemu);
    assert.deepEqual(argAfter(argv, '-display'), [`dbus,addr=unix:path=${socket()},gl=off,audiodev=audio1`]);
    // (with ferryd's copy of the port's output, as every serial port without a <log> of its own)
    assert.ok(
      argAfter(argv, '-chardev').some((c) => c.startsWith('dbus,id=charserial1,name=org.qemu.console.serial.1,')),
      argv.join(' '),
    );
    assert.match(argAfter(argv, '-audiodev').join(' '), /dbus,id=audio1/);

    const live = await host.ok('dumpxml', 'dbusvm');
    assert.match(live, new RegExp(`<graphics type='dbus' address='unix:path=${socket()}'>`));
    const inactive = await host.ok('dumpxml', '--inactive', 'dbusvm');
    assert.match(inactive, /<graphics type='dbus'>/, 'the bus ferryd chose is not in the definition');

    // QEMU owns org.qemu on the bus; its VM object carries the domain's name.
    await eventually(async () => (await busctl(host, 'list', '--no-pager')).includes('org.qemu'), 'org.qemu on the domain bus');
    assert.equal(await vmName(host), 's "dbusvm"');
    const tree = await busctl(host, 'tree', '--list', 'org.qemu');
    assert.match(tree, /\/org\/qemu\/Display1\/Audio/, 'the D-Bus audio backend is exported');
    assert.match(tree, /\/org\/qemu\/Display1\/Chardev_charserial1/, tree);
    assert.equal(
      (await busctl(host, 'get-property', 'org.qemu', '/org/qemu/Display1/Chardev_charserial1', 'org.qemu.Display1.Chardev', 'Name')).trim(),
      's "org.qemu.console.serial.1"',
      'the serial port is the channel the definition names',
    );

    await host.restart('SIGKILL');
    assert.match(await host.state('dbusvm'), /^running/);
    assert.deepEqual(daemons(), [daemon], 'the bus outlives ferryd and is found again');

    // Live to B: B starts a bus of its own before its QEMU, and shows it; A's goes with the source QEMU.
    const checks = (JSON.parse(await host.ok('migrate-check', 'dbusvm', hosts.bPeer, '--json')) as { results: Array<{ id: string; outcome: string }> }).results;
    assert.equal(checks.find((c) => c.id === 'dbus-display')?.outcome, 'pass', 'the pre-flight checks that B can run the bus');
    await host.ok('migrate', '--live', '--persistent', '--undefinesource', 'dbusvm', hosts.bPeer);
    assert.equal(daemons(hosts.b).length, 1, "B runs the domain's bus");
    assert.equal(await vmName(hosts.b), 's "dbusvm"');
    assert.match(await hosts.b.ok('dumpxml', 'dbusvm'), new RegExp(`<graphics type='dbus' address='unix:path=${socket(hosts.b)}'>`));
    await eventually(() => daemons(hosts.a).length === 0 && !existsSync(socket(hosts.a)), "A's bus gone after the migration");

    await hosts.b.ok('destroy', 'dbusvm');
    await eventually(
      () => daemons(hosts.b).length === 0 && !existsSync(socket(hosts.b)) && !existsSync(`${hosts.b.stateDir}/run/${uuid}`),
      'the bus, its socket and the run directory gone after destroy',
    );
  });

  it('ends the bus when QEMU fails to start', async () => {
    const xml = readFileSync(`${dir.path}/dbus.xml`, 'utf8')
      .replace(
        '</devices>',
        "</devices><qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:arg value='-no-such-option'/></qemu:commandline>",
      )
      .replace('<domain type', "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0' type");
    writeFileSync(`${dir.path}/bad.xml`, xml);
    await host.ok('define', `${dir.path}/bad.xml`);
    const r = await host.ferry('start', 'dbusvm');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-such-option/, 'QEMU itself refused to start, after the bus started');
    assert.deepEqual(daemons(), [], 'no bus left behind');
    assert.equal(existsSync(socket()), false);
  });

  it('starts a p2p display with no bus', async () => {
    writeFileSync(`${dir.path}/p2p.xml`, guestXml({ name: 'dbusp2p', devices: "<graphics type='dbus' p2p='yes'/>" }));
    await host.ok('define', `${dir.path}/p2p.xml`);
    await host.ok('start', 'dbusp2p');
    const uuidP2p = (await host.ok('domuuid', 'dbusp2p')).trim();
    const [qemu] = qemuPidsOf(host.stateDir, uuidP2p).filter((p) => comm(p).startsWith('qemu'));
    assert.ok(qemu);
    assert.deepEqual(argAfter(cmdline(qemu), '-display'), ['dbus,p2p=on']);
    assert.equal(existsSync(`${host.stateDir}/run/${uuidP2p}/dbus.sock`), false);
    assert.match(await host.ok('dumpxml', 'dbusp2p'), /<graphics type='dbus' p2p='yes'\/>/);
    await host.ok('destroy', 'dbusp2p');
  });
});
