import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import { liveDefinition, portableDefinition } from './live-definition.js';
import { resolveGraphicsListens } from './graphics-listens.js';

const xml = (graphics: string): string => `<domain type='qemu'><name>g</name><uuid>8b1f0c8e-41a4-4d39-9c43-0a3e8d6b7a10</uuid><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc-q35-10.0'>hvm</type></os><devices>${graphics}</devices></domain>`;
const defaults = {
  vncListen: '10.9.9.9',
  spiceListen: '127.0.0.1',
  networkAddress: (n: string) => (n === 'lan' ? '192.0.2.1' : 'x'),
  socketPath: (t: string) => `/run/u/${t}.sock`,
};

describe('resolveGraphicsListens()', () => {
  it('fills the configured address, a network address and a socket path, marked as chosen here', () => {
    const def = parseDomainXml(xml(`<graphics type='vnc'/><graphics type='spice'><listen type='network' network='lan'/></graphics>`));
    const [vnc, spice] = resolveGraphicsListens(def.devices.graphics, defaults);
    assert.deepEqual(vnc?.listens, [{ type: 'address', address: '10.9.9.9', generated: true }]);
    assert.deepEqual(spice?.listens, [{ type: 'network', network: 'lan', address: '192.0.2.1', generated: true }]);
    const sock = resolveGraphicsListens(parseDomainXml(xml(`<graphics type='vnc'><listen type='socket'/></graphics>`)).devices.graphics, defaults);
    assert.deepEqual(sock[0]?.listens, [{ type: 'socket', socket: '/run/u/vnc.sock', generated: true }]);
  });

  it('leaves a run-dir socket out of a migration even when read back from the live XML (the mark is lost)', () => {
    const live = parseDomainXml(
      xml(
        `<graphics type='vnc'><listen type='socket' socket='/run/u/vnc.sock'/></graphics><graphics type='spice'><listen type='socket' socket='/mine.sock'/></graphics>`,
      ),
    );
    const portable = portableDefinition(live, {
      serialLog: () => '/l',
      tapName: () => 't',
      channelSocket: () => '/c',
      graphicsSocket: (t) => `/run/u/${t}.sock`,
    });
    assert.deepEqual(
      portable.devices.graphics.map((g) => g.listens),
      [[{ type: 'socket' }], [{ type: 'socket', socket: '/mine.sock' }]],
    );
  });

  it("keeps the mark on a chosen address through ferryd's own record (fromConfig='1'), never in dumpxml, so a migration after a restart still leaves it out", () => {
    const def = parseDomainXml(xml(`<graphics type='vnc'/><graphics type='spice'><listen type='address' address='192.0.2.7'/></graphics>`));
    const running = { ...def, devices: { ...def.devices, graphics: resolveGraphicsListens(def.devices.graphics, defaults) } };
    const stored = renderLiveXml(running);
    assert.match(stored, /<listen type='address' address='10\.9\.9\.9' fromConfig='1'\/>/);
    assert.doesNotMatch(renderDomainXml(running, { id: 1 }), /fromConfig/);
    const readBack = parseDomainXml(stored);
    const portable = portableDefinition(readBack, {
      serialLog: () => '/l',
      tapName: () => 't',
      channelSocket: () => '/c',
      graphicsSocket: (t) => `/run/u/${t}.sock`,
    });
    assert.deepEqual(
      portable.devices.graphics.map((g) => g.listens),
      [[], [{ type: 'address', address: '192.0.2.7' }]],
    );
  });

  it('leaves what the host chose out of the definition a migration carries (ports, addresses, websocket -1)', () => {
    const def = parseDomainXml(
      xml(`<graphics type='vnc' websocket='-1'/><graphics type='spice' autoport='yes'><listen type='network' network='lan'/></graphics>`),
    );
    const listening = { ...def, devices: { ...def.devices, graphics: resolveGraphicsListens(def.devices.graphics, defaults) } };
    const live = liveDefinition(listening, {
      machine: 'pc-q35-10.0',
      serialLog: () => '/l',
      tapName: () => 't',
      networkBridge: () => 'br',
      channelSocket: () => '/c',
      graphicsPorts: [{ port: 5903, websocket: 5701 }, { port: 5904 }],
    });
    assert.match(renderDomainXml(live), /<graphics type='vnc' port='5903' autoport='yes' websocket='5701' listen='10.9.9.9'>/);
    const portable = portableDefinition(live, { serialLog: () => '/l', tapName: () => 't', channelSocket: () => '/c' });
    assert.deepEqual(
      portable.devices.graphics.map((g) => ({ port: g.port, websocket: g.websocket, listens: g.listens })),
      [
        { port: undefined, websocket: -1, listens: [] },
        { port: undefined, websocket: undefined, listens: [{ type: 'network', network: 'lan' }] },
      ],
    );
  });
});
