import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../../errors/ferry-error.js';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { buildQemuArgv } from '../argv.js';

const domain = (devices: string): string => `<domain type='qemu'><name>d</name><memory>131072</memory><os><type machine='pc'>hvm</type></os>
  <features><acpi/></features><devices>${devices}</devices></domain>`;

const argvOf = (devices: string, dbusAddress?: string): string[] => {
  const def = parseDomainXml(domain(devices));
  const graphics = def.devices.graphics.map((g) => (dbusAddress && g.type === 'dbus' ? { ...g, dbusAddress, dbusAddressGenerated: true } : g));
  return buildQemuArgv({
    def: { ...def, devices: { ...def.devices, graphics } },
    accel: 'tcg',
    machine: 'pc-i440fx-10.0',
    qmpSocket: '/q',
    pidfile: '/p',
    resolveDisk: () => ({ kind: 'empty' }),
    tapFds: [],
  });
};
const after = (argv: string[], flag: string): string[] => argv.flatMap((a, i) => (a === flag ? [argv[i + 1] as string] : []));

function refusal(xml: string): string {
  try {
    parseDomainXml(xml);
  } catch (err) {
    assert.ok(err instanceof FerryError);
    const problems = (err.details?.problems as Array<{ path: string; message: string }> | undefined) ?? [];
    return [err.message, ...problems.map((p) => `${p.path}: ${p.message}`)].join('\n');
  }
  assert.fail('accepted');
}

describe("QEMU's D-Bus display, as libvirt writes it", () => {
  it("-display dbus on the domain's bus or p2p, gl=off, audiodev=; dbus chardevs by name; one -display", () => {
    const bus = argvOf("<graphics type='dbus'><gl enable='no'/><audio id='1'/></graphics><audio id='1' type='dbus'/>", 'unix:path=/run/d/dbus.sock');
    assert.deepEqual(after(bus, '-display'), ['dbus,addr=unix:path=/run/d/dbus.sock,gl=off,audiodev=audio1']);
    assert.deepEqual(after(bus, '-audiodev'), ['dbus,id=audio1']);
    const p2p = argvOf(`<graphics type='dbus' p2p='yes'/><graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'/>
      <serial type='dbus'><source channel='org.qemu.console.serial.0'/><target port='1'/></serial>
      <redirdev bus='usb' type='dbus'><source channel='org.qemu.usbredir'/></redirdev>
      <channel type='dbus'><source channel='test.channel.0'/><target type='virtio' name='chardev-dbus'/></channel>`);
    assert.deepEqual(after(p2p, '-display'), ['dbus,p2p=on']);
    assert.deepEqual(after(p2p, '-vnc'), ['127.0.0.1:1']);
    assert.ok(after(p2p, '-chardev').includes('dbus,id=charserial0,name=org.qemu.console.serial.0'));
    assert.ok(after(p2p, '-chardev').includes('dbus,id=charredir0,name=org.qemu.usbredir'));
    assert.ok(after(p2p, '-chardev').includes('dbus,id=charchannel0,name=test.channel.0'), after(p2p, '-chardev').join(' '));
    assert.deepEqual(after(argvOf("<graphics type='dbus' address='unix:path=/tmp/mine'/>"), '-display'), ['dbus,addr=unix:path=/tmp/mine']);
  });

  it('reads back what it writes', () => {
    for (const g of [
      "<graphics type='dbus'/>",
      "<graphics type='dbus' p2p='yes'><gl enable='no'/><audio id='1'/></graphics><audio id='1' type='dbus'/>",
      "<graphics type='dbus' address='unix:path=/tmp/x'/>",
    ]) {
      const def = parseDomainXml(domain(g));
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def);
    }
  });

  it('refuses OpenGL (a host GPU), D-Bus channels and audio without a D-Bus display, p2p with an address', () => {
    assert.match(
      refusal(domain("<graphics type='dbus'><gl enable='yes' rendernode='/dev/dri/foo'/></graphics>")),
      /gl\/@enable.*OpenGL needs a GPU render node[\s\S]*rendernode/,
    );
    assert.match(
      refusal(domain("<graphics type='vnc'/><serial type='dbus'><source channel='c'/></serial>")),
      /serial\/@type: type 'dbus' is a channel of the D-Bus display, and there is no <graphics type='dbus'>/,
    );
    assert.match(refusal(domain("<audio id='1' type='dbus'/>")), /audio\[1\]\/@type: type 'dbus' plays through the D-Bus display/);
    assert.match(refusal(domain("<graphics type='dbus'><audio id='2'/></graphics><audio id='1' type='dbus'/>")), /there is none with id 2/);
    assert.match(refusal(domain("<graphics type='dbus' p2p='yes' address='unix:path=/x'/>")), /p2p with a specified address is not supported/);
    assert.match(refusal(domain("<graphics type='dbus'/><serial type='dbus'/>")), /Missing source channel/);
    assert.match(refusal(domain("<graphics type='dbus'/><graphics type='dbus' p2p='yes'/>")), /only 1 graphics device of each type/);
  });
});
