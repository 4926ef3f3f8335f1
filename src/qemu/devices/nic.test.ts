import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InterfaceDefinition } from '../../vm/definition.js';
import { nicArgs, nicQueues } from './nic.js';

const base: InterfaceDefinition = { type: 'bridge', mac: '52:54:00:00:00:01', model: 'virtio', source: { bridge: 'br0' }, alias: 'net0' };

describe('nicArgs()', () => {
  it('gives a multiqueue virtio NIC one tap descriptor per queue, mq=on and 2N+2 vectors', () => {
    const iface: InterfaceDefinition = { ...base, driver: { queues: 3 } };
    assert.equal(nicQueues(iface), 3);
    const [, netdev, , device] = nicArgs({ iface, index: 0, tapFds: [3, 4, 5], bootindex: undefined, q35: true });
    assert.equal(netdev, 'tap,id=hostnet0,fds=3:4:5');
    assert.match(device ?? '', /^virtio-net-pci,mq=on,vectors=8,/);
  });

  it("hands a name='vhost' NIC one vhost-net descriptor per queue, as libvirt's vhost=on,vhostfd(s)=", () => {
    const multi: InterfaceDefinition = { ...base, driver: { name: 'vhost', queues: 2 } };
    assert.equal(
      nicArgs({ iface: multi, index: 1, tapFds: [3, 4], vhostFds: [5, 6], bootindex: undefined, q35: true })[1],
      'tap,id=hostnet1,fds=3:4,vhost=on,vhostfds=5:6',
    );
    const single: InterfaceDefinition = { ...base, driver: { name: 'vhost' } };
    assert.equal(
      nicArgs({ iface: single, index: 0, tapFds: [3], vhostFds: [4], bootindex: undefined, q35: true })[1],
      'tap,id=hostnet0,fd=3,vhost=on,vhostfd=4',
    );
    assert.throws(() => nicArgs({ iface: multi, index: 0, tapFds: [3, 4], vhostFds: [5], bootindex: undefined, q35: true }), /1 of its 2 descriptors/);
    assert.equal(nicArgs({ iface: { ...base, driver: { name: 'qemu' } }, index: 0, tapFds: [3], bootindex: undefined, q35: true })[1], 'tap,id=hostnet0,fd=3');
  });

  it("puts virtio-net's <driver> settings and host_mtu on the device, as libvirt does", () => {
    const iface: InterfaceDefinition = {
      ...base,
      mtu: 9000,
      driver: { txmode: 'iothread', rxQueueSize: 512, txQueueSize: 1024, host: { csum: false, tso4: false }, guest: { ecn: false } },
    };
    const device = nicArgs({ iface, index: 0, tapFds: [3], bootindex: undefined, q35: true })[3] ?? '';
    assert.equal(device.split(',netdev=')[0], 'virtio-net-pci,tx=bh,rx_queue_size=512,tx_queue_size=1024,csum=off,host_tso4=off,guest_ecn=off,host_mtu=9000');
  });

  it('names each model by its QEMU device; a user NIC has no tap', () => {
    for (const [model, dev] of [
      ['rtl8139', 'rtl8139'],
      ['vmxnet3', 'vmxnet3'],
      ['e1000e', 'e1000e'],
    ] as const) {
      const args = nicArgs({ iface: { ...base, type: 'user', source: {}, model }, index: 1, tapFds: undefined, bootindex: undefined, q35: false });
      assert.deepEqual(args.slice(0, 2), ['-netdev', 'user,id=hostnet1']);
      assert.ok(args[3]?.startsWith(`${dev},netdev=hostnet1,`), args[3]);
    }
  });

  it('connects a socket interface through -netdev socket as libvirt 11 does (listen, connect, mcast, udp + localaddr), with no tap', () => {
    const sock = (type: InterfaceDefinition['type'], socket: NonNullable<InterfaceDefinition['source']['socket']>): string =>
      nicArgs({ iface: { ...base, type, source: { socket }, driver: { queues: 4 } }, index: 2, tapFds: undefined, bootindex: undefined, q35: true })[1] ?? '';
    assert.equal(sock('server', { port: 5558 }), 'socket,id=hostnet2,listen=:5558');
    assert.equal(sock('client', { address: '192.168.0.1', port: 5558 }), 'socket,id=hostnet2,connect=192.168.0.1:5558');
    assert.equal(sock('mcast', { address: '230.0.0.1', port: 5558 }), 'socket,id=hostnet2,mcast=230.0.0.1:5558');
    assert.equal(
      sock('udp', { address: '192.168.10.1', port: 5555, local: { address: '192.168.10.1', port: 5556 } }),
      'socket,id=hostnet2,udp=192.168.10.1:5555,localaddr=192.168.10.1:5556',
    );
    assert.equal(nicQueues({ ...base, type: 'udp', driver: { queues: 4 } }), 1);
  });
});
