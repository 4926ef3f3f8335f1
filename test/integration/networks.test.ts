import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { createBridge, deleteLink } from '../helpers/netns.js';
import { tempDir } from '../helpers/tmp.js';

const sysfs = (path: string): string => readFileSync(`/sys/class/net/${path}`, 'utf8').trim();
/** What `ip link` says about an interface, or undefined when it does not know it. */
function ipLink(name: string): string | undefined {
  try {
    return execFileSync('ip', ['-d', 'link', 'show', 'dev', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}
/** The bridge a tap device is a port of. */
const masterOf = (tap: string): string => basename(readlinkSync(`/sys/class/net/${tap}/master`));
/** The tap of each interface, from domiflist: [tap, type, source]. */
async function interfaces(host: FerrydHost, domain: string): Promise<string[][]> {
  return (await host.ok('domiflist', domain))
    .split('\n')
    .slice(2)
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/ +/).slice(0, 3));
}

/** Virtual networks on a real ferryd: real bridges (ip link), real QEMU with taps on them. */
describe('virtual networks', () => {
  const dir = tempDir('ferry-net-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const p = `fnt${randomBytes(3).toString('hex')}`; // this run's bridge names: fnt<6 hex><suffix>
  const hostBridge = `${p}h`;
  const subnet = `198.18.${randomBytes(1)[0]}`; // the benchmarking range: routed nowhere
  const U = '3f0e4d6a-8c1b-4e2f-9a7d-5b6c7d8e9f01';
  const file = (name: string, text: string): string => {
    writeFileSync(`${dir.path}/${name}`, text);
    return `${dir.path}/${name}`;
  };

  before(async () => {
    createBridge(hostBridge);
    await host.start();
  });
  after(async () => {
    for (const vm of ['netvm', 'ghostvm']) await host.ferry('destroy', vm);
    await host.stopAll();
    for (const suffix of ['h', 'i', 'l', 't', 'x', 'r']) deleteLink(`${p}${suffix}`);
    dir.cleanup();
  });

  it("net-define, net-start, net-list, net-info, net-dumpxml, net-uuid, net-name, net-autostart: virsh's output", async () => {
    const xml = file(
      'vmnet.xml',
      `<network>\n  <name>vmnet</name>\n  <uuid>${U}</uuid>\n  <forward mode='bridge'/>\n  <bridge name='${hostBridge}'/>\n</network>\n`,
    );
    assert.equal(await host.ok('net-define', xml), `Network vmnet defined from ${xml}\n\n`);
    assert.equal(await host.ok('net-list'), ' Name   State   Autostart   Persistent\n----------------------------------------\n\n');
    assert.equal(
      await host.ok('net-list', '--all'),
      ' Name    State      Autostart   Persistent\n--------------------------------------------\n vmnet   inactive   no          yes\n\n',
    );
    assert.equal(await host.ok('net-start', 'vmnet'), 'Network vmnet started\n\n');
    assert.equal(
      await host.ok('net-list'),
      ' Name    State    Autostart   Persistent\n------------------------------------------\n vmnet   active   no          yes\n\n',
    );
    assert.equal(
      await host.ok('net-info', 'vmnet'),
      `Name:           vmnet\nUUID:           ${U}\nActive:         yes\nPersistent:     yes\nAutostart:      no\nBridge:         ${hostBridge}\n\n`,
    );
    // The document defined comes back as it was written.
    const dumped = await host.ok('net-dumpxml', 'vmnet');
    assert.equal(dumped, readFileSync(xml, 'utf8'));
    assert.equal(await host.ok('net-uuid', 'vmnet'), `${U}\n\n`);
    assert.equal(await host.ok('net-name', U), 'vmnet\n\n');
    assert.equal(await host.ok('net-info', '--network', U), await host.ok('net-info', 'vmnet'));
    assert.equal(await host.ok('net-autostart', 'vmnet'), 'Network vmnet marked as autostarted\n\n');
    assert.match(await host.ok('net-list'), / vmnet   active   yes         yes\n/);
    assert.equal(await host.ok('net-autostart', 'vmnet', '--disable'), 'Network vmnet unmarked as autostarted\n\n');
    assert.equal(await host.ok('net-list', '--name'), 'vmnet\n\n');
    const again = await host.ferry('net-start', 'vmnet');
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /^error: Failed to start network vmnet\nerror: Requested operation is not valid: network is already active\nhint: .*\[NET_ACTIVE\]\n$/,
    );
    // The host bridge is ferry's to use, not to delete.
    assert.equal(await host.ok('net-destroy', 'vmnet'), 'Network vmnet destroyed\n\n');
    assert.ok(existsSync(`/sys/class/net/${hostBridge}/bridge`), 'net-destroy left the host bridge alone');
    await host.ok('net-start', 'vmnet');
  });

  it("a network that does not exist: virsh's two error lines; a host bridge that does not exist: named with its fix", async () => {
    for (const verb of ['net-info', 'net-start', 'net-destroy', 'net-undefine', 'net-dumpxml', 'net-autostart', 'net-uuid']) {
      const r = await host.ferry(verb, 'nope');
      assert.equal(r.code, 1, verb);
      assert.match(
        r.stderr,
        /^error: failed to get network 'nope'\nerror: Network not found: no network with matching name 'nope'\nhint: .*\[NET_NOT_FOUND\]\n$/,
        verb,
      );
    }
    const missing = `${p}x`;
    await host.ok('net-define', file('nobr.xml', `<network><name>nobr</name><forward mode='bridge'/><bridge name='${missing}'/></network>`));
    const r = await host.ferry('net-start', 'nobr');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `error: Failed to start network nobr\nerror: Cannot start network 'nobr': host bridge '${missing}' does not exist\n` +
        `hint: Create the bridge on this host (ip link add ${missing} type bridge && ip link set ${missing} up) and attach its uplink, or name an existing bridge in <bridge name=...> (ferry net-define) [NET_BRIDGE_MISSING]\n`,
    );
    assert.equal(await host.ok('net-undefine', 'nobr'), 'Network nobr has been undefined\n\n');
  });

  it('an isolated network: net-start creates its bridge (STP, MTU, address), net-destroy deletes it', async () => {
    const br = `${p}i`;
    const xml = file(
      'iso.xml',
      `<network><name>iso</name><bridge name='${br}'/><mtu size='9000'/><ip address='${subnet}.1' netmask='255.255.255.0'/></network>`,
    );
    await host.ok('net-define', xml);
    assert.equal(
      await host.ok('net-dumpxml', 'iso'),
      `<network>\n  <name>iso</name>\n  <uuid>${(await host.ok('net-uuid', 'iso')).trim()}</uuid>\n  <bridge name='${br}' stp='on' delay='0'/>\n  <mtu size='9000'/>\n  <ip address='${subnet}.1' netmask='255.255.255.0'/>\n</network>\n`,
    );
    assert.equal(ipLink(br), undefined);
    assert.equal(await host.ok('net-start', 'iso'), 'Network iso started\n\n');
    assert.match(
      ipLink(br) ?? '',
      new RegExp(`^\\d+: ${br}: <[^>]*\\bUP\\b[^>]*> mtu 9000 [\\s\\S]*\\n +bridge forward_delay \\d+ .*stp_state 1 `),
      'ip link shows the bridge, up, with its MTU and STP',
    );
    assert.deepEqual([sysfs(`${br}/mtu`), sysfs(`${br}/bridge/stp_state`)], ['9000', '1']);
    assert.match(execFileSync('ip', ['-br', 'addr', 'show', 'dev', br], { encoding: 'utf8' }), new RegExp(` ${subnet.replace(/\./g, '\\.')}\\.1/24`));
    assert.match(await host.ok('net-info', 'iso'), new RegExp(`Active: +yes\\n[\\s\\S]*Bridge: +${br}\\n`));
    assert.equal(await host.ok('net-destroy', 'iso'), 'Network iso destroyed\n\n');
    assert.equal(ipLink(br), undefined, 'the bridge ferry created is gone');
    const twice = await host.ferry('net-destroy', 'iso');
    assert.match(twice.stderr, /^error: Failed to destroy network iso\nerror: Requested operation is not valid: network 'iso' is not active\n/);
    // A bridge name someone else's interface already has: refused, and that interface is left alone.
    createBridge(br);
    const taken = await host.ferry('net-start', 'iso');
    assert.match(
      taken.stderr,
      new RegExp(`^error: Failed to start network iso\\nerror: error creating bridge interface ${br}: File exists\\n.*\\[NET_START_FAILED\\]`),
    );
    assert.ok(existsSync(`/sys/class/net/${br}`));
    deleteLink(br);
    assert.equal(await host.ok('net-undefine', 'iso'), 'Network iso has been undefined\n\n');
    assert.equal((await host.ok('net-list', '--all', '--name')).includes('iso'), false);
  });

  it('without <bridge name> an isolated network gets the first free virbrN; net-create makes a transient network', async () => {
    await host.ok('net-define', file('dflt.xml', '<network><name>dflt</name></network>'));
    const m = /<bridge name='(virbr\d+)' stp='on' delay='0'\/>/.exec(await host.ok('net-dumpxml', 'dflt'));
    assert.ok(m, 'a virbrN was chosen');
    assert.equal(existsSync(`/sys/class/net/${m[1]}`), false, `${m[1]} was free`);
    await host.ok('net-undefine', 'dflt');

    const br = `${p}t`;
    const xml = file('tmp.xml', `<network><name>tmpnet</name><bridge name='${br}'/></network>`);
    assert.equal(await host.ok('net-create', xml), `Network tmpnet created from ${xml}\n\n`);
    assert.match(await host.ok('net-list'), / tmpnet   active   no          no\n/);
    assert.ok(existsSync(`/sys/class/net/${br}/bridge`));
    const auto = await host.ferry('net-autostart', 'tmpnet');
    assert.match(
      auto.stderr,
      /^error: failed to mark network tmpnet as autostarted\nerror: Requested operation is not valid: cannot set autostart for transient network\n/,
    );
    assert.equal(await host.ok('net-destroy', 'tmpnet'), 'Network tmpnet destroyed\n\n');
    assert.equal(existsSync(`/sys/class/net/${br}`), false);
    assert.equal((await host.ok('net-list', '--all', '--name')).includes('tmpnet'), false, 'a transient network is gone once destroyed');
  });

  it("a VM with interfaces of type network: each tap is a port of its network's bridge, with its MTU", async () => {
    const lab = `${p}l`;
    await host.ok('net-define', file('lab.xml', `<network><name>lab</name><bridge name='${lab}' stp='off'/><mtu size='4000'/></network>`));
    await host.ok('net-start', 'lab');
    const nics =
      "<interface type='network'><source network='vmnet'/><model type='virtio'/></interface><interface type='network'><source network='lab'/><model type='e1000'/></interface>";
    await host.ok('define', file('netvm.xml', guestXml({ name: 'netvm', devices: nics })));
    assert.equal(await host.ok('start', 'netvm'), "Domain 'netvm' started\n\n");
    const [vmnetTap, labTap] = await interfaces(host, 'netvm');
    assert.deepEqual(
      [vmnetTap?.slice(1), labTap?.slice(1)],
      [
        ['network', 'vmnet'],
        ['network', 'lab'],
      ],
    );
    assert.equal(masterOf(vmnetTap?.[0] as string), hostBridge);
    assert.equal(masterOf(labTap?.[0] as string), lab);
    assert.equal(sysfs(`${labTap?.[0]}/mtu`), '4000');
    assert.equal(sysfs(`${lab}/mtu`), '4000', 'the bridge keeps its MTU with a port joined');
    // The running definition records the bridge; the persistent one does not.
    assert.match(
      await host.ok('dumpxml', 'netvm'),
      new RegExp(`<interface type='network'>\\n +<mac address='[0-9a-f:]+'/>\\n +<source network='vmnet' bridge='${hostBridge}'/>`),
    );
    const inactive = await host.ok('dumpxml', '--inactive', 'netvm');
    assert.match(inactive, /<source network='vmnet'\/>/);
    assert.doesNotMatch(inactive, new RegExp(hostBridge));
    await host.ok('destroy', 'netvm');
    assert.equal(existsSync(`/sys/class/net/${vmnetTap?.[0]}`), false, 'the taps go with the VM');
    await host.ok('net-destroy', 'lab');
    await host.ok('net-undefine', 'lab');
  });

  it("a VM on an inactive network or a network that does not exist does not start, with libvirt's messages", async () => {
    await host.ok('net-destroy', 'vmnet');
    try {
      const r = await host.ferry('start', 'netvm');
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^error: Failed to start domain 'netvm'\nerror: Requested operation is not valid: network 'vmnet' is not active\nhint: Start it with "ferry net-start vmnet".*\[NET_NOT_ACTIVE\]\n$/,
      );
      assert.match(await host.state('netvm'), /^shut off/);
    } finally {
      await host.ok('net-start', 'vmnet');
    }
    await host.ok('define', file('ghostvm.xml', guestXml({ name: 'ghostvm', devices: "<interface type='network'><source network='ghost'/></interface>" })));
    const r = await host.ferry('start', 'ghostvm');
    assert.match(r.stderr, /^error: Failed to start domain 'ghostvm'\nerror: Network not found: no network with matching name 'ghost'\n.*\[NET_NOT_FOUND\]\n$/);
    await host.ok('undefine', 'ghostvm');
  });

  it('bad network XML gets a coded error naming what is wrong', async () => {
    const cases: Array<[string, RegExp]> = [
      ['<network><name>broken</name>', /^error: Failed to define network from .*\nerror: XML error: .*\nhint: .*\[XML_MALFORMED\]\n$/],
      [
        "<network><name>natnet</name><forward mode='nat'/></network>",
        /^error: Failed to define network from .*\nerror: unsupported configuration: network 'natnet' uses forward mode='nat', which ferry does not support in this release\nhint: Forward modes nat, route, open, \.\.\. are not in this release; use <forward mode='bridge'\/> with a host bridge .*\[NET_FORWARD_UNSUPPORTED\]\n$/,
      ],
      [
        "<network><name>x</name><forward mode='bridge'/></network>",
        /XML error: network 'x' with forward mode='bridge' needs <bridge name=\.\.\.> \(the host bridge to use\) in <bridge>\nhint: .*docs\/networking\.md.*\[XML_INVALID\]/,
      ],
      [
        "<network><name>x</name><ip address='10.0.0.1' prefix='24'><dhcp/></ip></network>",
        /unsupported configuration: <ip\/dhcp> of network 'x': ferry runs no DHCP server in this release; give the guests static addresses\nhint: .*\[XML_UNSUPPORTED\]/,
      ],
      ["<network><name>x</name><bridge name='virbr0' stp='sometimes'/></network>", /XML error: stp='sometimes' must be 'on' or 'off' in <bridge>/],
    ];
    for (const [xml, expected] of cases) {
      const r = await host.ferry('net-define', file('bad.xml', xml));
      assert.equal(r.code, 1, xml);
      assert.match(r.stderr, expected);
    }
    const missing = await host.ferry('net-define', `${dir.path}/missing.xml`);
    assert.match(missing.stderr, /^error: Failed to open file '.*missing.xml': No such file or directory\n/);
    assert.equal((await host.ok('net-list', '--all', '--name')).trim(), 'vmnet', 'nothing half-defined');
  });

  it('autostart networks start with ferryd; a bridge ferry created that vanished is created again', async () => {
    const br = `${p}r`;
    await host.ok('net-define', file('auto.xml', `<network><name>auto</name><bridge name='${br}'/></network>`));
    await host.ok('net-autostart', 'auto');
    await host.ok('net-autostart', 'vmnet');
    await host.ok('net-destroy', 'vmnet');
    await host.restart();
    assert.equal(
      await host.ok('net-list'),
      ' Name    State    Autostart   Persistent\n------------------------------------------\n auto    active   yes         yes\n vmnet   active   yes         yes\n\n',
    );
    assert.ok(existsSync(`/sys/class/net/${br}/bridge`));
    // As after a host reboot: the bridge is gone while the network is recorded active.
    deleteLink(br);
    await host.restart();
    assert.ok(existsSync(`/sys/class/net/${br}/bridge`), 'created again at ferryd start');
    await host.ok('net-destroy', 'auto');
    await host.ok('net-undefine', 'auto');
    assert.equal(existsSync(`/sys/class/net/${br}`), false);
  });

  it('every net-* verb has --help', async () => {
    for (const verb of [
      'net-define',
      'net-create',
      'net-undefine',
      'net-start',
      'net-destroy',
      'net-autostart',
      'net-list',
      'net-info',
      'net-dumpxml',
      'net-uuid',
      'net-name',
    ]) {
      const r = await host.ferry(verb, '--help');
      assert.equal(r.code, 0, verb);
      assert.match(r.stdout, new RegExp(`^Usage: ferry ${verb} `), verb);
    }
    assert.match((await host.ferry('net-define', '--help')).stdout, /<forward mode='bridge'\/><bridge name='br1'\/>/);
  });
});
