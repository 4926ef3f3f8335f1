import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dbusDaemonCheck } from './dbus-daemon-check.js';

describe('the D-Bus display bus pre-flight check (real dbus-daemon)', () => {
  it('passes where dbus-daemon runs; fails naming it, with the package to install', async () => {
    const ok = await dbusDaemonCheck('hostb');
    assert.equal(ok.outcome, 'pass');
    assert.match(ok.reason, /^dbus-daemon \d+\.\d+\.\d+ on hostb/);
    const missing = await dbusDaemonCheck('hostb', '/nonexistent/dbus-daemon');
    assert.equal(missing.outcome, 'fail');
    assert.equal(missing.overridable, false);
    assert.match(missing.reason, /dbus-daemon does not run on hostb: not installed/);
    assert.match(missing.hint ?? '', /apt-get install dbus-daemon/);
  });
});
