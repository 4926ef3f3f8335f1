import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../../errors/ferry-error.js';
import { parseDomainXml } from '../parse-domain-xml.js';
import { renderDomainXml } from '../render-domain-xml.js';

const wrap = (devices: string): string =>
  `<domain type='kvm'><name>v</name><memory unit='MiB'>256</memory><os><type machine='q35'>hvm</type></os><devices>${devices}</devices></domain>`;

function problems(xml: string): string[] {
  try {
    parseDomainXml(xml);
  } catch (err) {
    assert.ok(err instanceof FerryError);
    return ((err.details as { problems?: Array<{ path: string; message: string }> }).problems ?? []).map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

describe('parseInterface()', () => {
  it("gives an interface without <model> libvirt's x86 default, rtl8139, and dumpxml shows it", () => {
    const d = parseDomainXml(wrap("<interface type='user'/>"));
    assert.equal(d.devices.interfaces[0]?.model, 'rtl8139');
    assert.match(renderDomainXml(d), /<model type='rtl8139'\/>/);
  });

  it('keeps every interface setting through dumpxml (parse ∘ render is the identity)', () => {
    const d = parseDomainXml(
      wrap(`
      <interface type='bridge'><source bridge='br0'/><model type='virtio'/>
        <driver name='qemu' queues='4' txmode='iothread' rx_queue_size='512' tx_queue_size='1024'>
          <host csum='off' tso4='off' mrg_rxbuf='on'/><guest csum='off' ecn='off'/>
        </driver>
        <bandwidth><inbound average='1000' peak='4000' burst='1024'/><outbound average='128' peak='256' burst='32768'/></bandwidth>
        <link state='down'/><mtu size='9000'/><coalesce><rx><frames max='7'/></rx></coalesce>
      </interface>
      <interface type='ethernet'><target dev='mytap0' managed='no'/><model type='e1000e'/></interface>
      <interface type='ethernet'><script path='/etc/qemu-ifup'/><downscript path='/etc/qemu-ifdown'/><model type='vmxnet3'/></interface>
      <interface type='direct'><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>`),
    );
    const [br, eth, scripted, direct] = d.devices.interfaces;
    assert.deepEqual(br?.driver, {
      name: 'qemu',
      queues: 4,
      txmode: 'iothread',
      rxQueueSize: 512,
      txQueueSize: 1024,
      host: { csum: false, tso4: false, mrg_rxbuf: true },
      guest: { csum: false, ecn: false },
    });
    assert.deepEqual(br?.bandwidth, { inbound: { average: 1000, peak: 4000, burst: 1024 }, outbound: { average: 128, peak: 256, burst: 32768 } });
    assert.deepEqual([br?.linkState, br?.mtu, br?.coalesceRxFrames], ['down', 9000, 7]);
    assert.match(renderDomainXml(d), /<coalesce>\s*<rx>\s*<frames max='7'\/>\s*<\/rx>\s*<\/coalesce>/);
    assert.deepEqual([eth?.targetDev, eth?.targetManaged], ['mytap0', false]);
    assert.deepEqual([scripted?.script, scripted?.downscript, scripted?.model], ['/etc/qemu-ifup', '/etc/qemu-ifdown', 'vmxnet3']);
    assert.deepEqual(direct?.source, { dev: 'eth0', mode: 'bridge' });
    assert.deepEqual(parseDomainXml(renderDomainXml(d)), d);
  });

  it("gives type='direct' libvirt's default mode, vepa", () => {
    assert.equal(parseDomainXml(wrap("<interface type='direct'><source dev='eth0'/></interface>")).devices.interfaces[0]?.source.mode, 'vepa');
  });

  it('refuses what it would not apply, each with its reason: vhost without a tap, virtio settings on other models, multiqueue, MTU and bandwidth without a tap', () => {
    const found = problems(
      wrap(`
      <interface type='user'><model type='virtio'/><driver name='vhost'/></interface>
      <interface type='bridge'><source bridge='br0'/><model type='e1000'/><driver queues='2'/></interface>
      <interface type='user'><model type='virtio'/><driver queues='2'/><mtu size='9000'/><bandwidth><inbound average='10'/></bandwidth></interface>
      <interface type='bridge'><source bridge='br0'/><script path='/x'/></interface>
      <interface type='direct'><source dev='eth0'/><target dev='macvtap7'/></interface>
      <interface type='ethernet'><coalesce><rx><frames max='7'/></rx></coalesce></interface>
      <interface type='direct'><source dev='eth0'/><coalesce><rx><frames max='7'/></rx></coalesce></interface>`),
    );
    assert.deepEqual(
      found.map((p) => p.split(':')[0]),
      [
        '/domain/devices/interface[1]/driver/@name',
        '/domain/devices/interface[2]/driver',
        '/domain/devices/interface[3]/driver/@queues',
        '/domain/devices/interface[3]/mtu',
        '/domain/devices/interface[3]/bandwidth',
        '/domain/devices/interface[4]/script',
        '/domain/devices/interface[5]/target/@dev',
        '/domain/devices/interface[6]/coalesce',
        '/domain/devices/interface[7]/coalesce',
      ],
    );
    assert.match(found[0] ?? '', /<driver name='vhost'> \(the kernel's vhost-net\) serves a tap's queues; type='user' has no tap/);
    assert.match(found[7] ?? '', /coalesce settings on interface type ethernet are not supported/);
  });

  it("keeps <driver name='vhost'> and <backend tap vhost> on a tap, and refuses them where no tap or no vhost is used", () => {
    const d = parseDomainXml(
      wrap(
        "<interface type='network'><source network='default'/><model type='virtio'/><driver name='vhost' queues='2'/><backend tap='/dev/net/tun' vhost='/dev/vhost-net'/></interface>",
      ),
    );
    assert.deepEqual(d.devices.interfaces[0]?.backend, { tap: '/dev/net/tun', vhost: '/dev/vhost-net' });
    assert.deepEqual(parseDomainXml(renderDomainXml(d)), d);
    assert.deepEqual(problems(renderDomainXml(d)), []);
    const found = problems(
      wrap(`
      <interface type='bridge'><source bridge='br0'/><model type='e1000'/><driver name='vhost'/></interface>
      <interface type='bridge'><source bridge='br0'/><model type='virtio'/><backend vhost='/dev/vhost-net'/></interface>
      <interface type='direct'><source dev='eth0'/><backend tap='/dev/net/tun'/></interface>`),
    );
    assert.deepEqual(
      found.map((p) => p.split(':')[0]),
      ['/domain/devices/interface[1]/driver/@name', '/domain/devices/interface[2]/backend/@vhost', '/domain/devices/interface[3]/backend/@tap'],
    );
    assert.throws(() => parseDomainXml(wrap("<interface type='bridge'><source bridge='br0'/><backend tap='tun'/></interface>")), /must be an absolute path/);
  });

  it('refuses unknown models and types with their paths', () => {
    const found = problems(wrap("<interface type='vhostuser'/><interface type='user'><model type='ne2k_pci'/></interface>"));
    assert.ok(
      found.some((p) => p.startsWith("/domain/devices/interface[1]/@type: <interface type='vhostuser'> is not supported")),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p.startsWith('/domain/devices/interface[2]/model/@type')),
      found.join('\n'),
    );
  });

  it('keeps socket interfaces (server, client, mcast, udp with <local>) through dumpxml, and refuses them without a port or peer', () => {
    const d = parseDomainXml(
      wrap(`
      <interface type='server'><source port='5558'/><model type='virtio'/></interface>
      <interface type='client'><source address='127.0.0.1' port='5558'/></interface>
      <interface type='mcast'><source address='230.0.0.1' port='5559'/></interface>
      <interface type='udp'><source address='127.0.0.1' port='5555'><local address='127.0.0.1' port='5556'/></source></interface>`),
    );
    assert.deepEqual(
      d.devices.interfaces.map((i) => i.source.socket),
      [
        { port: 5558 },
        { address: '127.0.0.1', port: 5558 },
        { address: '230.0.0.1', port: 5559 },
        { address: '127.0.0.1', port: 5555, local: { address: '127.0.0.1', port: 5556 } },
      ],
    );
    assert.match(renderDomainXml(d), /<source address='127.0.0.1' port='5555'>\s*<local address='127.0.0.1' port='5556'\/>\s*<\/source>/);
    assert.deepEqual(parseDomainXml(renderDomainXml(d)), d);
    const refused = (xml: string): string => {
      try {
        parseDomainXml(wrap(xml));
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.match(refused("<interface type='client'><source port='1'/></interface>"), /No <source> 'address' attribute/);
    assert.match(refused("<interface type='server'><source address='127.0.0.1'/></interface>"), /No <source> 'port' attribute/);
    assert.match(refused("<interface type='udp'><source address='127.0.0.1' port='5'/></interface>"), /No <local> 'address' attribute/);
    assert.match(refused("<interface type='client'/>"), /needs <source address= port=>/);
    assert.match(refused("<interface type='bridge'><source bridge='br0' port='5'/></interface>"), /belong to interface type 'server'/);
    assert.match(refused("<interface type='client'><source address='h' port='70000'/></interface>"), /outside 1..65535/);
    assert.deepEqual(
      problems(wrap("<interface type='udp'><source address='a' port='1'><local address='b' port='2'/></source><mtu size='1400'/></interface>")).map(
        (p) => p.split(':')[0],
      ),
      ['/domain/devices/interface[1]/mtu'],
    );
  });
});
