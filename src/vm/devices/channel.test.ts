import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { charDeviceArgs } from '../../qemu/devices/char-devices.js';
import { qemuFilesOf } from '../../host/qemu-files.js';
import { withAliases } from '../device-aliases.js';
import { parseDomainXml } from '../parse-domain-xml.js';
import { renderDomainXml } from '../render-domain-xml.js';

const wrap = (devices: string): string =>
  `<domain type='qemu'><name>c</name><memory>131072</memory><os><type machine='pc'>hvm</type></os><devices>${devices}</devices></domain>`;
const GUESTFWD = "<channel type='pipe'><source path='/tmp/fwd'/><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>";

describe('vc, pipe and stdio character devices; guestfwd channels', () => {
  it('a guestfwd channel is its own user network named after the channel, with no virtio-serial port', () => {
    const def = parseDomainXml(
      wrap(`${GUESTFWD}<channel type='unix'><source mode='connect' path='/tmp/c.sock'/><target type='guestfwd' address='10.0.2.1' port='4601'/></channel>`),
    );
    assert.deepEqual(
      def.devices.controllers.filter((c) => c.type === 'virtio-serial'),
      [],
    );
    assert.equal(def.devices.channels[0]?.address, undefined);
    assert.deepEqual(parseDomainXml(renderDomainXml(def)), def);
    const argv = charDeviceArgs(withAliases(def, false), false);
    assert.deepEqual(argv, [
      '-chardev',
      'pipe,id=charchannel0,path=/tmp/fwd',
      '-netdev',
      'user,guestfwd=tcp:10.0.2.1:4600-chardev:charchannel0,id=channel0',
      '-chardev',
      'socket,id=charchannel1,path=/tmp/c.sock',
      '-netdev',
      'user,guestfwd=tcp:10.0.2.1:4601-chardev:charchannel1,id=channel1',
    ]);
  });

  it('refuses what QEMU cannot forward and what libvirt refuses', () => {
    const fwd = (target: string, type = 'pipe', source = "<source path='/tmp/fwd'/>"): string =>
      wrap(`<channel type='${type}'>${source}<target type='guestfwd' ${target}/></channel>`);
    assert.throws(() => parseDomainXml(fwd("port='4600'")), /guestfwd channel does not define a target address/);
    assert.throws(() => parseDomainXml(fwd("address='10.0.2.1'")), /guestfwd channel does not define a target port/);
    assert.throws(() => parseDomainXml(fwd("address='fd00::1' port='4600'")), /not an IPv4 address/);
    assert.throws(() => parseDomainXml(fwd("address='10.0.2.1' port='70000'")), /Invalid port number: 70000/);
    assert.throws(() => parseDomainXml(fwd("address='10.0.2.1' port='1'", 'unix', "<source mode='bind'/>")), /Missing source path attribute/);
    assert.throws(() => parseDomainXml(fwd("address='10.0.2.1' port='1'", 'spicevmc', '')), /type 'spicevmc' is not one of/);
    assert.throws(
      () => parseDomainXml(wrap("<channel type='pty'><target type='virtio' name='a' port='3'/></channel>")),
      /address= and port= are for <target type='guestfwd'>/,
    );
  });

  it("vc and pipe serial ports and channels; a pipe's FIFOs (or its path) go to QEMU's user", () => {
    const def = parseDomainXml(
      wrap("<serial type='vc'/><console type='vc'/><channel type='pipe'><source path='/nonexistent/p'/><target type='virtio' name='p.0'/></channel>"),
    );
    assert.deepEqual(parseDomainXml(renderDomainXml(def)), def);
    const argv = charDeviceArgs(withAliases(def, false), false).join(' ');
    assert.match(argv, /-chardev vc,id=charserial0 -device isa-serial,chardev=charserial0/);
    assert.match(argv, /-chardev pipe,id=charchannel0,path=\/nonexistent\/p -device virtserialport/);
    assert.deepEqual(
      qemuFilesOf(def, () => ({ kind: 'file', path: '' }) as never)
        .filter((f) => f.what.includes('pipe'))
        .map((f) => [f.path, f.access]),
      [['/nonexistent/p', 'rw']],
    );
    assert.throws(() => parseDomainXml(wrap("<serial type='pipe'/>")), /type='pipe' needs <source path=/);
  });

  it('one stdio device at most (QEMU has one stdout: the domain log)', () => {
    const def = parseDomainXml(wrap("<serial type='stdio'/>"));
    assert.match(charDeviceArgs(withAliases(def, false), false).join(' '), /-chardev stdio,id=charserial0/);
    assert.throws(() => parseDomainXml(wrap("<serial type='stdio'/><serial type='stdio'/>")), /a second type 'stdio' device/);
  });
});
