import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { findConsoleDevice } from './console-devices.js';

const domain = (devices: string) =>
  parseDomainXml(`<domain type='kvm'><name>v</name><memory unit='MiB'>256</memory><os><type>hvm</type></os><devices>${devices}</devices></domain>`);

function refuses(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof FerryError && err.code === code && message.test(err.message));
}

describe('findConsoleDevice()', () => {
  const def = domain(`<serial type='pty'/><console type='pty'><target type='serial' port='0'/></console>
    <serial type='unix'><source mode='bind' path='/run/s1.sock'/></serial><serial type='file'><source path='/tmp/out'/></serial>
    <serial type='unix'><source mode='connect' path='/run/elsewhere.sock'/></serial>`);

  it('picks the first console by default, which is the serial port it targets (one alias, as libvirt)', () => {
    assert.deepEqual(findConsoleDevice(def), { alias: 'serial0', chardev: 'charserial0', backend: { type: 'pty' } });
    assert.deepEqual(findConsoleDevice(def, 'console0'), findConsoleDevice(def));
    assert.deepEqual(findConsoleDevice(domain("<serial type='pty'/><serial type='pty'/>")).alias, 'serial0');
  });

  it('names serial ports by alias; a unix socket QEMU listens on is a backend too', () => {
    assert.deepEqual(findConsoleDevice(def, 'serial1'), { alias: 'serial1', chardev: 'charserial1', backend: { type: 'unix', path: '/run/s1.sock' } });
  });

  it('refuses a device that does not exist, or one with nothing to attach to, in libvirt\'s words', () => {
    refuses(() => findConsoleDevice(def, 'serial7'), 'CONSOLE_NOT_FOUND', /^internal error: cannot find character device serial7$/);
    refuses(() => findConsoleDevice(domain('')), 'CONSOLE_NOT_FOUND', /cannot find character device <null>/);
    refuses(() => findConsoleDevice(def, 'serial2'), 'CONSOLE_NOT_PTY', /^internal error: character device serial2 is not using a PTY$/);
    refuses(() => findConsoleDevice(def, 'serial3'), 'CONSOLE_NOT_PTY', /serial3 is not using a PTY/);
  });
});
