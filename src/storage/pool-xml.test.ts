import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parsePoolXml, renderPoolXml } from './pool-xml.js';

describe('parsePoolXml()', () => {
  it("reads the seed's netfs pool and renders it back", () => {
    const xml = `<pool type='netfs'><name>testvms</name><source><host name='nfs-01'/><dir path='/testvms'/><format type='nfs'/></source>
      <target><path>/var/lib/libvirt/images/testvms/</path></target></pool>`;
    const def = parsePoolXml(xml);
    assert.deepEqual(
      [def.type, def.name, def.source.host, def.source.dir, def.source.format, def.target.path],
      ['netfs', 'testvms', 'nfs-01', '/testvms', 'nfs', '/var/lib/libvirt/images/testvms'],
    );
    assert.deepEqual(parsePoolXml(renderPoolXml(def)), def);
  });

  it('names what a pool type is missing', () => {
    const bad = (xml: string, re: RegExp): void =>
      assert.throws(
        () => parsePoolXml(xml),
        (e: unknown) => e instanceof FerryError && re.test(e.message),
      );
    bad(`<pool type='netfs'><name>n</name><target><path>/x</path></target></pool>`, /needs <source><host name=...>/);
    bad(`<pool type='dir'><name>d</name></pool>`, /needs an absolute <target><path>/);
    bad(`<pool type='rbd'><name>r</name></pool>`, /unsupported configuration: storage pool type 'rbd'/);
    bad(`<pool type='iscsi'><name>i</name><source><host name='h'/></source></pool>`, /target IQN/);
    bad(`<pool><name>x</name></pool>`, /missing pool type attribute/);
  });
});
