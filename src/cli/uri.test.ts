import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { defaultUri, parseUri } from './uri.js';
import { SYSTEM_SOCKET } from '../transport/connection-uri.js';

describe('parseUri()', () => {
  it('reads the local forms and qemu:// aliases', () => {
    for (const uri of ['ferry:///system', 'qemu:///system', 'ferry+unix:///system']) {
      const t = parseUri(uri);
      assert.deepEqual([t.transport, t.socket, t.instance], ['unix', SYSTEM_SOCKET, 'system'], uri);
    }
    assert.equal(parseUri('ferry:///system?socket=/tmp/a.sock').socket, '/tmp/a.sock');
    assert.equal(parseUri('ferry:///session').instance, 'session');
  });

  it('reads the remote forms with user, host and port', () => {
    const ssh = parseUri('qemu+ssh://root@PacktPhy02/system');
    assert.deepEqual([ssh.transport, ssh.user, ssh.host, ssh.port], ['ssh', 'root', 'PacktPhy02', undefined]);
    const tls = parseUri('ferry+tls://host-b:16520/system');
    assert.deepEqual([tls.transport, tls.host, tls.port], ['tls', 'host-b', 16520]);
  });

  it('refuses what it cannot use, with a coded error', () => {
    for (const bad of ['xen:///system', 'ferry:///other', 'ferry://host/system', 'ferry+ssh:///system', 'nonsense']) {
      assert.throws(
        () => parseUri(bad),
        (e: unknown) => e instanceof FerryError && e.code === 'URI_INVALID',
        bad,
      );
    }
  });
});

describe('defaultUri()', () => {
  it('prefers FERRY_DEFAULT_URI', () => {
    assert.equal(defaultUri({ FERRY_DEFAULT_URI: 'ferry:///system?socket=/x' }), 'ferry:///system?socket=/x');
  });
});
