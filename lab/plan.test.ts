import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLab, vmAddress } from './plan.js';

describe('planLab()', () => {
  it('gives every host its namespace, its addresses on the three networks and its own directories', () => {
    const p = planLab({ hosts: 3, dir: '/tmp/l', prefix: 'x1', subnet: 200 });
    assert.deepEqual(
      p.hosts.map((h) => [h.name, h.ns, h.mgmtAddress, h.migrationAddress]),
      [
        ['h1', 'x1-h1', '10.200.1.11', '10.200.2.11'],
        ['h2', 'x1-h2', '10.200.1.12', '10.200.2.12'],
        ['h3', 'x1-h3', '10.200.1.13', '10.200.2.13'],
      ],
    );
    assert.equal(p.switchNs, 'x1-sw');
    assert.equal(p.hosts[1]?.socket, '/tmp/l/h2/run/ferryd.sock');
    assert.equal(p.hosts[1]?.config, '/tmp/l/h2/etc-ferry/ferryd.conf');
    assert.equal(vmAddress(p, 2), '10.200.3.102');
    // Link names on the switch stay within the kernel's 15 characters.
    for (const h of p.hosts) for (const l of Object.values(h.switchLinks)) assert.ok(l.length <= 15, l);
  });

  it('refuses names and sizes it cannot build', () => {
    assert.throws(() => planLab({ hosts: 0, dir: '/tmp/l' }), /1 to 9 hosts/);
    assert.throws(() => planLab({ hosts: 10, dir: '/tmp/l' }), /1 to 9 hosts/);
    assert.throws(() => planLab({ hosts: 2, dir: '/tmp/l', prefix: 'Bad-Prefix' }), /lab prefix/);
    assert.throws(() => planLab({ hosts: 2, dir: '/tmp/l', subnet: 300 }), /subnet/);
  });
});
