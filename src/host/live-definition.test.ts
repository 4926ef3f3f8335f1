import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml } from '../vm/render-domain-xml.js';
import { liveDefinition, portableDefinition } from './live-definition.js';

const xml = `<domain type='kvm'><name>v</name><memory>131072</memory><os><type machine='q35'>hvm</type></os><devices>
  <interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br1'/></interface>
  <interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='br1'/><target dev='mytap'/></interface>
  <interface type='network'><mac address='52:54:00:00:00:03'/><source network='vmnet'/></interface>
  <serial type='pty'/><serial type='pty'><log file='/mine.log' append='off'/></serial>
  <channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  <channel type='unix'><source mode='bind'/><target type='virtio'/></channel>
  <graphics type='vnc' autoport='yes'/><graphics type='spice' port='5999' autoport='no'/></devices></domain>`;

describe('liveDefinition() / portableDefinition()', () => {
  const input = {
    machine: 'pc-q35-10.0',
    serialLog: (p: number) => `/state/log/v-serial${p}.log`,
    tapName: (i: number) => `fetap${i}`,
    networkBridge: (n: string) => `br-of-${n}`,
    channelSocket: (n: string) => `/run/v/${n}.sock`,
    graphicsPorts: [{ port: 5901 }, {}],
  };

  it("adds the host's machine, tap names and serial logs without touching what the user set", () => {
    const live = liveDefinition(parseDomainXml(xml), input);
    assert.equal(live.os.machine, 'pc-q35-10.0');
    assert.deepEqual(
      live.devices.interfaces.map((i) => i.targetDev),
      ['fetap0', 'mytap', 'fetap2'],
    );
    assert.deepEqual(
      live.devices.interfaces.map((i) => i.source),
      [{ bridge: 'br1' }, { bridge: 'br1' }, { network: 'vmnet', bridge: 'br-of-vmnet' }],
    );
    assert.deepEqual(
      live.devices.serials.map((s) => s.logFile),
      ['/state/log/v-serial0.log', '/mine.log'],
    );
    assert.equal(live.devices.channels[0]?.sourcePath, '/run/v/org.qemu.guest_agent.0.sock');
    // An unnamed port's socket is named after its virtio-serial address, as libvirt's vioser-CC-BB-PP.sock.
    assert.equal(live.devices.channels[1]?.sourcePath, '/run/v/vioser-00-00-02.sock');
    assert.deepEqual(
      live.devices.graphics.map((g) => g.port),
      [5901, 5999],
    );
    assert.deepEqual(
      live.devices.serials.map((s) => s.alias),
      ['serial0', 'serial1'],
    );
  });

  it('portableDefinition() removes exactly what liveDefinition() added', () => {
    const def = parseDomainXml(xml);
    const portable = portableDefinition(liveDefinition(def, input), input);
    assert.deepEqual(portable, { ...def, os: { ...def.os, machine: 'pc-q35-10.0' } });
  });

  it('the bridge a network resolved to on this host stays out of the portable definition and its XML', () => {
    const live = liveDefinition(parseDomainXml(xml), input);
    const liveXml = renderDomainXml(live);
    assert.match(liveXml, /<interface type='network'>\n +<mac address='52:54:00:00:00:03'\/>\n +<source network='vmnet' bridge='br-of-vmnet'\/>/);
    const travelling = renderDomainXml(portableDefinition(parseDomainXml(liveXml), input));
    assert.match(travelling, /<interface type='network'>\n +<mac address='52:54:00:00:00:03'\/>\n +<source network='vmnet'\/>/);
    assert.doesNotMatch(travelling, /br-of-vmnet|fetap2/);
    // Another host resolves the same network to its own bridge.
    const there = liveDefinition(parseDomainXml(travelling), { ...input, networkBridge: () => 'br-elsewhere' });
    assert.equal(there.devices.interfaces[2]?.source.bridge, 'br-elsewhere');
  });
});

describe('SPICE TLS ports chosen at start', () => {
  const domain = (graphics: string): string =>
    `<domain type='kvm'><name>v</name><memory>131072</memory><os><type machine='q35'>hvm</type></os><devices>${graphics}</devices></domain>`;
  const input = (chosen: { port?: number; tlsPort?: number }) => ({
    machine: 'pc-q35-10.0',
    serialLog: (p: number) => `/s${p}.log`,
    tapName: (i: number) => `t${i}`,
    networkBridge: (n: string) => n,
    channelSocket: (n: string) => `/run/v/${n}.sock`,
    graphicsPorts: [chosen],
  });

  it('shows them in the live XML and leaves them out of what migrates (autoport: none, tlsPort=-1: -1 again)', () => {
    const auto = parseDomainXml(domain("<graphics type='spice' autoport='yes'><channel name='main' mode='secure'/></graphics>"));
    const autoLive = liveDefinition(auto, input({ port: 5901, tlsPort: 5902 }));
    assert.match(renderDomainXml(autoLive), /<graphics type='spice' port='5901' tlsPort='5902' autoport='yes'>/);
    assert.deepEqual(portableDefinition(autoLive, input({})).devices.graphics, auto.devices.graphics);
    const fixed = parseDomainXml(domain("<graphics type='spice' port='5990' tlsPort='-1' autoport='no'/>"));
    const fixedLive = liveDefinition(fixed, input({ tlsPort: 5903 }));
    assert.deepEqual(
      fixedLive.devices.graphics.map((g) => [g.port, g.tlsPort]),
      [[5990, 5903]],
    );
    assert.deepEqual(portableDefinition(fixedLive, input({})).devices.graphics, fixed.devices.graphics);
  });
});

describe('a D-Bus display in the live definition', () => {
  const dbusXml = (graphics: string): string =>
    `<domain type='kvm'><name>d</name><memory>131072</memory><os><type machine='q35'>hvm</type></os><devices>${graphics}</devices></domain>`;
  const input = {
    machine: 'pc-q35-10.0',
    serialLog: (p: number) => `/state/log/d-serial${p}.log`,
    tapName: (i: number) => `fetap${i}`,
    networkBridge: (n: string) => n,
    channelSocket: (n: string) => `/run/d/${n}.sock`,
    graphicsPorts: [{}],
    dbusSocket: '/run/d/dbus.sock',
  };

  it("is on the domain's own bus, shown in the live XML (not the inactive one) and left for the destination to start its own", () => {
    const def = parseDomainXml(dbusXml("<graphics type='dbus'><gl enable='no'/></graphics>"));
    const live = liveDefinition(def, input);
    assert.equal(live.devices.graphics[0]?.dbusAddress, 'unix:path=/run/d/dbus.sock');
    assert.match(renderDomainXml(live, { id: 1 }), /<graphics type='dbus' address='unix:path=\/run\/d\/dbus.sock'>\s*<gl enable='no'\/>/);
    assert.doesNotMatch(renderDomainXml(def), /address=/);
    assert.deepEqual(portableDefinition(live, input).devices.graphics, def.devices.graphics);
    // The live XML read back (a ferryd restart) has lost the mark: the socket path still tells it is this host's bus.
    const reread = parseDomainXml(renderDomainXml(live, { id: 1 }));
    assert.deepEqual(portableDefinition(reread, input).devices.graphics, def.devices.graphics);
  });

  it("keeps an address of the user's and p2p as written: no bus of ferryd's", () => {
    for (const g of ["<graphics type='dbus' address='unix:path=/tmp/mybus'/>", "<graphics type='dbus' p2p='yes'/>"]) {
      const def = parseDomainXml(dbusXml(g));
      const { dbusSocket: _none, ...noBus } = input;
      const live = liveDefinition(def, noBus);
      assert.deepEqual(live.devices.graphics, def.devices.graphics);
      assert.deepEqual(portableDefinition(live, input).devices.graphics, def.devices.graphics);
    }
  });
});
