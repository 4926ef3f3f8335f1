import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { bridgeSpec } from './network-definition.js';
import { parseNetworkXml, renderNetworkXml } from './network-xml.js';

const U = '6b1a3c2e-0d4f-4a7b-9c1e-2f3a4b5c6d7e';

function rejects(xml: string, code: string, message: RegExp): FerryError {
  let caught: unknown;
  assert.throws(
    () => parseNetworkXml(xml),
    (e: unknown) => {
      caught = e;
      return true;
    },
  );
  assert.ok(caught instanceof FerryError, String(caught));
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  return caught;
}

describe('parseNetworkXml()', () => {
  it('reads a network on a host bridge and renders it back as libvirt does', () => {
    const xml = `<network><name>vmnet</name><uuid>${U.toUpperCase()}</uuid><forward mode='bridge'/><bridge name='br1'/></network>`;
    const def = parseNetworkXml(xml);
    assert.deepEqual(def, { name: 'vmnet', uuid: U, forward: 'bridge', bridge: { name: 'br1' }, ips: [] });
    assert.equal(
      renderNetworkXml(def),
      `<network>\n  <name>vmnet</name>\n  <uuid>${U}</uuid>\n  <forward mode='bridge'/>\n  <bridge name='br1'/>\n</network>\n`,
    );
    assert.deepEqual(parseNetworkXml(renderNetworkXml(def)), def);
  });

  it('reads an isolated network with addresses, MTU and MAC; the round trip keeps every field', () => {
    const xml = `<network>
      <name>iso</name><uuid>${U}</uuid>
      <bridge name='fntiso0' stp='off' delay='2'/>
      <mtu size='9000'/><mac address='52:54:00:AA:BB:CC'/>
      <ip address='10.99.0.1' netmask='255.255.255.0'/>
      <ip family='ipv6' address='fd00:99::1' prefix='64'/>
    </network>`;
    const def = parseNetworkXml(xml);
    assert.deepEqual(def.bridge, { name: 'fntiso0', stp: false, delay: 2 });
    assert.deepEqual([def.forward, def.mtu, def.mac], ['isolated', 9000, '52:54:00:aa:bb:cc']);
    assert.deepEqual(def.ips, [
      { family: 'ipv4', address: '10.99.0.1', netmask: '255.255.255.0' },
      { family: 'ipv6', address: 'fd00:99::1', prefix: 64 },
    ]);
    const rendered = renderNetworkXml(def);
    assert.match(
      rendered,
      /<bridge name='fntiso0' stp='off' delay='2'\/>\n  <mtu size='9000'\/>\n  <mac address='52:54:00:aa:bb:cc'\/>\n  <ip address='10.99.0.1' netmask='255.255.255.0'\/>\n  <ip family='ipv6' address='fd00:99::1' prefix='64'\/>\n<\/network>/,
    );
    assert.deepEqual(parseNetworkXml(rendered), def);
    assert.deepEqual(bridgeSpec(def), {
      name: 'fntiso0',
      stp: false,
      delay: 2,
      mtu: 9000,
      mac: '52:54:00:aa:bb:cc',
      addresses: ['10.99.0.1/24', 'fd00:99::1/64'],
    });
  });

  it("an isolated network gets libvirt's defaults: the virbr%d template, stp on, delay 0, a generated uuid", () => {
    const def = parseNetworkXml('<network><name>iso</name></network>');
    assert.deepEqual(def.bridge, { name: 'virbr%d', stp: true, delay: 0 });
    assert.match(def.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.notEqual(parseNetworkXml('<network><name>iso</name></network>').uuid, def.uuid);
    assert.match(renderNetworkXml(def), /<bridge name='virbr%d' stp='on' delay='0'\/>/);
  });

  it('refuses forward modes other than bridge with NET_FORWARD_UNSUPPORTED, naming the mode', () => {
    for (const mode of ['nat', 'route', 'open', 'passthrough']) {
      const e = rejects(
        `<network><name>n</name><forward mode='${mode}'/><bridge name='virbr9'/></network>`,
        'NET_FORWARD_UNSUPPORTED',
        new RegExp(`network 'n' uses forward mode='${mode}', which ferry does not support`),
      );
      assert.match(e.hint, /use <forward mode='bridge'\/> with a host bridge/);
      assert.equal(e.details.mode, mode);
    }
    rejects('<network><name>n</name><forward/></network>', 'NET_FORWARD_UNSUPPORTED', /forward mode='nat'/);
    rejects("<network><name>n</name><forward mode='teleport'/></network>", 'XML_INVALID', /unknown forwarding type 'teleport' in <forward>/);
    rejects(
      "<network><name>n</name><forward mode='bridge'><interface dev='eth0'/></forward><bridge name='br1'/></network>",
      'XML_UNSUPPORTED',
      /<forward> .*macvtap/,
    );
  });

  it('names the element at fault', () => {
    rejects('<network><uuid>x</uuid></network>', 'XML_INVALID', /missing <name> in <network>/);
    rejects('<pool><name>p</name></pool>', 'XML_INVALID', /expected root element <network>, found <pool>/);
    rejects('<network><name>n</name><uuid>nope</uuid></network>', 'XML_INVALID', /malformed uuid 'nope' in <uuid>/);
    rejects("<network><name>n</name><forward mode='bridge'/></network>", 'XML_INVALID', /needs <bridge name=\.\.\.> \(the host bridge to use\) in <bridge>/);
    rejects(
      "<network><name>n</name><forward mode='bridge'/><bridge name='br1' stp='on'/></network>",
      'XML_INVALID',
      /bridge delay\/stp options only allowed in isolated mode, not in bridge .* in <bridge>/,
    );
    rejects(
      "<network><name>n</name><forward mode='bridge'/><bridge name='br1'/><ip address='10.0.0.1' prefix='24'/></network>",
      'XML_UNSUPPORTED',
      /<ip> in network 'n' with forward mode='bridge'/,
    );
    rejects("<network><name>n</name><bridge name='br1' stp='maybe'/></network>", 'XML_INVALID', /stp='maybe' must be 'on' or 'off' in <bridge>/);
    rejects("<network><name>n</name><bridge name='averyveryverylongname'/></network>", 'XML_INVALID', /longer than 15 characters in <bridge>/);
    rejects("<network><name>n</name><bridge name='br 1'/></network>", 'XML_INVALID', /bridge name 'br 1' is not a valid interface name in <bridge>/);
    rejects("<network><name>n</name><mtu size='70000'/></network>", 'XML_INVALID', /size='70000' must be an integer from 68 to 65535 in <mtu>/);
    rejects("<network><name>n</name><mac address='01:00:5e:00:00:01'/></network>", 'XML_INVALID', /unable to parse mac address .* in <mac>/);
    rejects("<network><name>n</name><ip address='10.0.0.300' prefix='24'/></network>", 'XML_INVALID', /invalid address '10.0.0.300' .* in <ip>/);
    rejects("<network><name>n</name><ip address='10.0.0.1'/></network>", 'XML_INVALID', /needs netmask= or prefix= in <ip>/);
    rejects("<network><name>n</name><ip address='10.0.0.1' netmask='255.0.255.0'/></network>", 'XML_INVALID', /invalid netmask '255.0.255.0' in <ip>/);
    rejects(
      "<network><name>n</name><ip address='10.0.0.1' netmask='255.0.0.0' prefix='8'/></network>",
      'XML_INVALID',
      /cannot have both a prefix and a netmask in <ip>/,
    );
    rejects("<network><name>n</name><ip family='ipv6' address='10.0.0.1' prefix='8'/></network>", 'XML_INVALID', /not an ipv6 address in <ip>/);
    rejects(
      "<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.9'/></dhcp></ip></network>",
      'XML_UNSUPPORTED',
      /<ip\/dhcp> .*no DHCP server/,
    );
    rejects('<network><name>n</name><dns/></network>', 'XML_UNSUPPORTED', /<network\/dns> is not supported by ferry/);
    rejects('<network><name>n</name>', 'XML_MALFORMED', /^XML error: /);
  });
});
