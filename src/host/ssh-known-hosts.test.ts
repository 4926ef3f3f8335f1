import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { knownHostKeyHash } from './ssh-known-hosts.js';

const key = (n: number): string => Buffer.from(`key-blob-${n}`).toString('base64');
const sha = (n: number): string =>
  createHash('sha256')
    .update(Buffer.from(`key-blob-${n}`))
    .digest('hex');

describe('knownHostKeyHash()', () => {
  it("finds a host's key by plain, [host]:port, comma-listed and hashed names, preferring ed25519, skipping markers", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-'));
    try {
      const salt = Buffer.from('0123456789abcdef0123');
      const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.9]:2222').digest('base64')}`;
      const file = join(dir, 'known_hosts');
      writeFileSync(
        file,
        [
          '# comment',
          '',
          `@revoked example.org ssh-ed25519 ${key(9)}`,
          `other,example.org ssh-rsa ${key(1)}`,
          `example.org ssh-ed25519 ${key(2)}`,
          `[example.org]:2222 ecdsa-sha2-nistp256 ${key(3)}`,
          `${hashed} ssh-ed25519 ${key(4)}`,
        ].join('\n'),
      );
      assert.equal(knownHostKeyHash(file, 'example.org', 22), sha(2));
      assert.equal(knownHostKeyHash(file, 'example.org', 2222), sha(3));
      assert.equal(knownHostKeyHash(file, '10.0.0.9', 2222), sha(4));
      assert.throws(
        () => knownHostKeyHash(file, 'nowhere', 22),
        (e) => e instanceof FerryError && e.code === 'DISK_SSH_HOST_UNKNOWN',
      );
      assert.throws(() => knownHostKeyHash(join(dir, 'missing'), 'example.org', 22), /Cannot read known hosts file/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
