import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { DEFAULT_TCP_PORT, DEFAULT_TLS_PORT, describeTarget, parseConnectionUri, readonlySocketOf, SYSTEM_SOCKET } from './connection-uri.js';

describe('parseConnectionUri()', () => {
  it("reads the seed's qemu+ssh URI and libvirt's ssh options", () => {
    const t = parseConnectionUri('qemu+ssh://PacktPhy02/system');
    assert.deepEqual([t.transport, t.host, t.user, t.port, t.socket, t.socketGiven], ['ssh', 'PacktPhy02', undefined, undefined, SYSTEM_SOCKET, false]);
    const o = parseConnectionUri('ferry+ssh://admin@h2:2222/system?keyfile=/k/id&known_hosts=/k/kh&no_verify=1&socket=/run/x.sock');
    assert.deepEqual(
      [o.user, o.port, o.keyFile, o.knownHosts, o.noVerify, o.socket, o.socketGiven],
      ['admin', 2222, '/k/id', '/k/kh', true, '/run/x.sock', true],
    );
    assert.equal(describeTarget(o), 'admin@h2:2222 (ssh, /run/x.sock)');
  });

  it('gives tls and tcp their default ports, keeps pkipath, and reads IPv6 hosts', () => {
    const tls = parseConnectionUri('ferry+tls://h1/system?pkipath=/home/a/pki');
    assert.deepEqual([tls.transport, tls.port, tls.pkiPath], ['tls', DEFAULT_TLS_PORT, '/home/a/pki']);
    assert.equal(parseConnectionUri('qemu+tcp://h1/system').port, DEFAULT_TCP_PORT);
    const v6 = parseConnectionUri('ferry+tls://[fd00::2]:17000/system');
    assert.deepEqual([v6.host, v6.port], ['fd00::2', 17000]);
    assert.equal(describeTarget(v6), 'fd00::2:17000');
  });

  it('refuses a host on the unix transport and a missing host on the others', () => {
    for (const bad of ['ferry://h1/system', 'ferry+tls:///system', 'ferry+ssh:///system', 'http://h1/system']) {
      assert.throws(
        () => parseConnectionUri(bad),
        (e: unknown) => e instanceof FerryError && e.code === 'URI_INVALID',
        bad,
      );
    }
  });

  it('puts the read-only socket beside the read-write one', () => {
    assert.equal(readonlySocketOf('/run/ferry/ferryd.sock'), '/run/ferry/ferryd-ro.sock');
    assert.equal(readonlySocketOf('/tmp/x'), '/tmp/x-ro');
  });
});
