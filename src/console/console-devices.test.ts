import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { withAliases } from '../vm/device-aliases.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { findConsoleDevice } from './console-devices.js';

/** A live definition (with its aliases, as QEMU runs it) with these devices. */
const domain = (devices: string) =>
  withAliases(
    parseDomainXml(
      `<domain type='kvm'><name>v</name><memory unit='MiB'>256</memory><os><type machine='q35'>hvm</type></os><devices>${devices}</devices></domain>`,
    ),
    true,
  );

function refuses(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof FerryError && err.code === code && message.test(err.message));
}

describe('findConsoleDevice()', () => {
  const def = domain(`<serial type='pty'/><console type='pty'><target type='serial' port='0'/></console>
    <serial type='unix'><source mode='bind' path='/run/s1.sock'/></serial><serial type='file'><source path='/tmp/out'/></serial>
    <serial type='unix'><source mode='connect' path='/run/elsewhere.sock'/></serial>
    <console type='pty'><target type='virtio'/></console>
    <channel type='unix'><source mode='bind' path='/run/ga.sock'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <channel type='pty'><target type='virtio' name='org.example.port'/></channel>`);

  it('picks the first console by default, which is the serial port it targets (one device, as libvirt)', () => {
    assert.deepEqual(findConsoleDevice(def), { alias: 'serial0', chardev: 'charserial0', backend: { type: 'pty' } });
    assert.deepEqual(findConsoleDevice(def, 'console0'), findConsoleDevice(def));
    assert.deepEqual(findConsoleDevice(domain("<serial type='pty'/><serial type='pty'/>")).alias, 'serial0');
  });

  it("takes a lone <console type='pty'> (virt-install's) for serial0, as libvirt", () => {
    assert.deepEqual(findConsoleDevice(domain("<console type='pty'/>")), { alias: 'serial0', chardev: 'charserial0', backend: { type: 'pty' } });
  });

  it('names serial ports, virtio consoles and channels by alias; a unix socket QEMU listens on is a backend too', () => {
    assert.deepEqual(findConsoleDevice(def, 'serial1'), { alias: 'serial1', chardev: 'charserial1', backend: { type: 'unix', path: '/run/s1.sock' } });
    assert.deepEqual(findConsoleDevice(def, 'console1'), { alias: 'console1', chardev: 'charconsole1', backend: { type: 'pty' } });
    assert.deepEqual(findConsoleDevice(def, 'channel1'), { alias: 'channel1', chardev: 'charchannel1', backend: { type: 'pty' } });
    assert.deepEqual(
      findConsoleDevice(domain("<console type='pty'><target type='virtio'/></console>")).alias,
      'console0',
      'a virtio console alone is the default',
    );
  });

  it("refuses a device that does not exist, one with nothing to attach to, and the guest agent's channel", () => {
    refuses(() => findConsoleDevice(def, 'serial7'), 'CONSOLE_NOT_FOUND', /^internal error: cannot find character device serial7$/);
    refuses(() => findConsoleDevice(domain('')), 'CONSOLE_NOT_FOUND', /cannot find character device <null>/);
    refuses(() => findConsoleDevice(def, 'serial2'), 'CONSOLE_NOT_PTY', /^internal error: character device serial2 is not using a PTY$/);
    refuses(() => findConsoleDevice(def, 'serial3'), 'CONSOLE_NOT_PTY', /serial3 is not using a PTY/);
    refuses(() => findConsoleDevice(def, 'channel0'), 'CONSOLE_BUSY', /channel0 is the guest agent's channel/);
  });
});
