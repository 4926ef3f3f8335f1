import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LAB_DIR, labUsage } from './usage.js';

describe('labUsage()', () => {
  it("names the lab's directory in every command unless it is the default (the demo's lab is in /tmp/ferry-demo)", () => {
    assert.deepEqual(labUsage('/tmp/ferry-demo', { firstHost: 'h1', secondHost: 'h2', vmAddress: '10.231.3.100', vm: 'demo-vm' }), [
      'scripts/lab.sh on --dir /tmp/ferry-demo h1 ferry list --all',
      'scripts/lab.sh on --dir /tmp/ferry-demo h1 ferry migrate --live --verbose --persistent demo-vm qemu+ssh://h2/system',
      'scripts/lab.sh switch --dir /tmp/ferry-demo ping -c 3 10.231.3.100',
      'scripts/lab.sh status --dir /tmp/ferry-demo',
      'scripts/lab.sh down --dir /tmp/ferry-demo',
    ]);
    assert.deepEqual(labUsage(DEFAULT_LAB_DIR, { firstHost: 'h1', vmAddress: '10.231.3.100' }), [
      'scripts/lab.sh on h1 ferry list --all',
      'scripts/lab.sh switch ping -c 3 10.231.3.100',
      'scripts/lab.sh status',
      'scripts/lab.sh down',
    ]);
    assert.equal(labUsage("/tmp/a lab's dir", { firstHost: 'h1', vmAddress: 'x' })[0], "scripts/lab.sh on --dir '/tmp/a lab'\\''s dir' h1 ferry list --all");
  });
});
