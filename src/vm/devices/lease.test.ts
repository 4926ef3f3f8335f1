import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../parse-domain-xml.js';
import { renderDomainXml } from '../render-domain-xml.js';

const domain = (devices: string): string =>
  `<domain type='qemu'><name>l</name><memory unit='MiB'>64</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${devices}</devices></domain>`;

describe('parseLease()', () => {
  it('reads lockspace, key and target, and dumpxml writes them back (after the controllers, as libvirt)', () => {
    const def = parseDomainXml(
      domain("<lease><lockspace>somearea</lockspace><key>thequickbrownfox</key><target path='/some/lease/path' offset='1024'/></lease>"),
    );
    assert.deepEqual(def.devices.leases, [{ lockspace: 'somearea', key: 'thequickbrownfox', target: { path: '/some/lease/path', offset: 1024 } }]);
    const xml = renderDomainXml(def);
    assert.match(
      xml,
      /<\/controller>\s*<lease>\s*<lockspace>somearea<\/lockspace>\s*<key>thequickbrownfox<\/key>\s*<target path='\/some\/lease\/path' offset='1024'\/>\s*<\/lease>/,
    );
    assert.deepEqual(parseDomainXml(xml), def);
    assert.deepEqual(parseDomainXml(domain("<lease><key>k</key><target path='/l'/></lease>")).devices.leases, [{ key: 'k', target: { path: '/l' } }]);
  });

  it('refuses a lease without key or target path, a relative path, a key that is not a plain name, a malformed offset', () => {
    assert.throws(() => parseDomainXml(domain("<lease><target path='/l'/></lease>")), /Missing 'key' element for lease/);
    assert.throws(() => parseDomainXml(domain('<lease><key>k</key></lease>')), /Missing 'target' element/);
    assert.throws(() => parseDomainXml(domain("<lease><key>k</key><target path='l'/></lease>")), /must be absolute/);
    assert.throws(() => parseDomainXml(domain("<lease><key>../k</key><target path='/l'/></lease>")), /must be a plain name/);
    assert.throws(() => parseDomainXml(domain("<lease><lockspace>..</lockspace><key>k</key><target path='/l'/></lease>")), /must be a plain name/);
    assert.throws(() => parseDomainXml(domain("<lease><key>k</key><target path='/l' offset='-1'/></lease>")), /malformed lease target offset/);
  });
});
