import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FerryError } from '../../errors/ferry-error.js';
import { portsToChoose } from '../../host/live-definition.js';
import { spiceTarget } from '../../migration/graphics-uri.js';
import type { GraphicsDefinition } from '../../vm/definition.js';
import { displayUris } from '../../vm/display-uri.js';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { graphicsArgs } from './desktop.js';
import { nbdTlsArgs } from './nbd-tls.js';
import { networkProtocolNode } from './disk-protocol.js';

const FIXTURES = new URL('../../../../test/fixtures/libvirt-qemuxml/', import.meta.url);
const fixture = (name: string, ext: 'xml' | 'args'): string => readFileSync(new URL(`${name}.x86_64-latest.${ext}`, FIXTURES), 'utf8');

/** libvirt's -spice value, without the options ferry adds or leaves to ferryd.conf (disable-ticketing; sasl=on is qemu.conf's spice_sasl). */
function libvirtSpice(name: string): string[] {
  const m = /^-spice (\S+) \\$/m.exec(fixture(name, 'args'));
  assert.ok(m, `-spice in ${name}.args`);
  return (m[1] as string)
    .split(',')
    .filter((o) => o !== 'sasl=on')
    .sort();
}

const spice = (over: Partial<GraphicsDefinition>): GraphicsDefinition => ({
  type: 'spice',
  autoport: false,
  listens: [{ type: 'address', address: '127.0.0.1' }],
  ...over,
});

describe('SPICE TLS (tlsPort, <channel>, defaultMode) and NBD disks over TLS', () => {
  for (const name of [
    'graphics-spice',
    'channel-spicevmc',
    'graphics-spice-compression',
    'graphics-spice-sasl',
    'graphics-spice-usb-redir',
    'graphics-spice-agentmouse',
    'graphics-spice-agent-file-xfer',
    'graphics-spice-qxl-vga',
  ]) {
    it(`${name}: -spice as libvirt's .args, and the dumpxml round trip`, () => {
      const def = parseDomainXml(fixture(name, 'xml'));
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
      const argv = graphicsArgs(def, '/etc/pki/libvirt-spice');
      const ours = (argv[argv.indexOf('-spice') + 1] as string).split(',').filter((o) => o !== 'disable-ticketing=on');
      assert.deepEqual([...ours].sort(), libvirtSpice(name));
      // tls-channel=/plaintext-channel= in libvirt's order (default first, then main, display, inputs, ...).
      const channels = (s: string[]): string[] => s.filter((o) => /-channel=/.test(o));
      const m = /^-spice (\S+) \\$/m.exec(fixture(name, 'args'));
      assert.deepEqual(channels(ours), channels((m?.[1] as string).split(',')));
    });
  }

  it("refuses a TLS port on a host without spice_tls, and secure or insecure modes with no such port, in libvirt's words", () => {
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof FerryError, String(err));
        return `${err.code}: ${err.message}`;
      }
      return 'accepted';
    };
    const def = parseDomainXml(fixture('graphics-spice', 'xml'));
    assert.match(
      code(() => graphicsArgs(def)),
      /^DISPLAY_TLS_UNAVAILABLE: .*spice TLS port set in XML configuration, but TLS is disabled in ferryd.conf/,
    );
    const noTls = { ...def, devices: { ...def.devices, graphics: [spice({ port: 5903, channels: { main: 'secure' } })] } };
    assert.match(
      code(() => graphicsArgs(noTls, '/x')),
      /^DISPLAY_TLS_UNAVAILABLE: .*spice secure channels set in XML configuration, but TLS connection is not available/,
    );
    const onlyTls = { ...def, devices: { ...def.devices, graphics: [spice({ tlsPort: 5904, defaultMode: 'insecure' })] } };
    assert.match(
      code(() => graphicsArgs(onlyTls, '/x')),
      /^XML_UNSUPPORTED: .*spice defaultMode insecure requested in XML configuration, but plaintext connection is not available/,
    );
    assert.equal(
      code(() => graphicsArgs({ ...def, devices: { ...def.devices, graphics: [spice({ tlsPort: 5904, channels: { main: 'secure' } })] } }, '/x')),
      'accepted',
    );
    const xml = fixture('graphics-spice-compression', 'xml');
    assert.throws(
      () =>
        parseDomainXml(
          xml.replace(/<graphics type='spice'[^>]*>[\s\S]*?<\/graphics>/, "<graphics type='spice' tlsPort='5904'><listen type='none'/></graphics>"),
        ),
      /tlsPort='5904' needs a display that listens on an address, not <listen type='none'>/,
    );
  });

  it("chooses a TLS port for autoport by libvirt's rule, and refuses one without spice_tls", () => {
    const auto = spice({ autoport: true });
    assert.deepEqual(portsToChoose(auto, false), { port: true, websocket: false, tlsPort: false }, 'no SPICE TLS: plain port only (as before)');
    assert.deepEqual(portsToChoose(auto, true), { port: true, websocket: false, tlsPort: true }, 'spice_tls: every channel may use TLS');
    assert.deepEqual(
      portsToChoose(
        spice({
          autoport: true,
          defaultMode: 'insecure',
          channels: Object.fromEntries(['main', 'display', 'inputs', 'cursor', 'playback', 'record', 'smartcard', 'usbredir'].map((n) => [n, 'insecure'])),
        }),
        true,
      ).tlsPort,
      false,
    );
    assert.throws(
      () => portsToChoose(spice({ autoport: true, channels: { main: 'secure' } }), false),
      /Auto allocation of spice TLS port requested but spice TLS is disabled/,
    );
    assert.equal(portsToChoose(spice({ port: 5903, tlsPort: -1 }), true).tlsPort, true);
    assert.equal(portsToChoose(spice({ port: 5903, tlsPort: 5904 }), true).tlsPort, false, 'a fixed TLS port is kept');
  });

  it('domdisplay and client_migrate_info carry the TLS port', () => {
    assert.deepEqual(displayUris([spice({ port: 5903, tlsPort: 5904 })]), [{ type: 'spice', uri: 'spice://127.0.0.1:5903?tls-port=5904' }]);
    assert.deepEqual(displayUris([spice({ tlsPort: 5904 })]), [{ type: 'spice', uri: 'spice://127.0.0.1?tls-port=5904' }]);
    assert.deepEqual(spiceTarget([{ type: 'spice', address: '127.0.0.1', port: 5910, tlsPort: 5911 }], 'h2'), {
      hostname: '127.0.0.1',
      port: 5910,
      tlsPort: 5911,
    });
    assert.deepEqual(spiceTarget([{ type: 'spice', address: '127.0.0.1', port: 5910, tlsPort: 5911 }], 'h2', { hostname: 'x', tlsPort: 6000 }), {
      hostname: 'x',
      port: 5910,
      tlsPort: 6000,
    });
  });

  for (const name of ['disk-network-tlsx509-nbd', 'disk-network-tlsx509-nbd-hostname']) {
    it(`${name}: tls-creds-x509 (endpoint client) and the nbd node's tls-creds/tls-hostname as libvirt's .args`, () => {
      const def = parseDomainXml(fixture(name, 'xml'));
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
      const disk = def.devices.disks.find((d) => d.source.protocol === 'nbd');
      assert.ok(disk);
      const args = fixture(name, 'args');
      const object = JSON.parse(/-object '(\{"qom-type":"tls-creds-x509"[^']*)'/.exec(args)?.[1] as string) as Record<string, unknown>;
      const node = JSON.parse(/-blockdev '(\{"driver":"nbd"[^']*)'/.exec(args)?.[1] as string) as Record<string, unknown>;
      const [, ours] = nbdTlsArgs(disk, '/etc/pki/libvirt-nbd') as [string, string];
      const { passwordid: _p, id: libvirtId, ...want } = object;
      const { id, ...got } = JSON.parse(ours) as Record<string, unknown>;
      assert.deepEqual(got, want);
      const protocol = networkProtocolNode(disk.source, disk.target.dev);
      assert.equal(protocol['tls-creds'], id);
      assert.equal(node['tls-creds'], libvirtId);
      assert.equal(protocol['tls-hostname'], node['tls-hostname']);
    });
  }

  it("refuses tls= on other protocols and tlsHostname without tls='yes'", () => {
    const base = fixture('disk-network-tlsx509-nbd-hostname', 'xml');
    assert.throws(() => parseDomainXml(base.replace("tls='yes' ", "tls='no' ")), /tlsHostname= needs tls='yes'/);
    const off = parseDomainXml(base.replace("tls='yes' tlsHostname='test-hostname'", "tls='no'"));
    const disk = off.devices.disks.find((d) => d.source.protocol === 'nbd');
    assert.equal(disk?.source.tls, false);
    assert.deepEqual(nbdTlsArgs(disk as NonNullable<typeof disk>, undefined), [], "tls='no': no credentials");
    assert.match(renderDomainXml(off), /<source protocol='nbd' tls='no'>/);
  });
});
