import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { stageQemuTls } from './qemu-tls-dirs.js';

const domain = (devices: string): string =>
  `<domain type='kvm'><name>v</name><memory>131072</memory><os><type machine='q35'>hvm</type></os><devices>${devices}</devices></domain>`;
const spice = "<graphics type='spice' port='5903' tlsPort='5904' autoport='no' listen='127.0.0.1'/>";
const nbd =
  "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' tls='yes'><host name='h' port='10809'/></source><target dev='vdb' bus='virtio'/></disk>";

describe('stageQemuTls()', () => {
  it('copies the three files each side needs into the run directory, and nothing for a domain without TLS', () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'ferry-tls-'));
    try {
      for (const f of ['ca-cert.pem', 'server-cert.pem', 'server-key.pem', 'client-cert.pem', 'client-key.pem']) writeFileSync(join(dir, f), f);
      const staged: Array<[string, string[]]> = [];
      const stage = (name: string, files: string[]): string => {
        staged.push([name, files.map((f) => f.slice(dir.length + 1))]);
        return `/run/x/${name}`;
      };
      assert.deepEqual(stageQemuTls(parseDomainXml(domain(spice + nbd)), { spiceDir: dir, nbdDir: dir }, stage), {
        spiceX509Dir: '/run/x/spice-tls',
        nbdX509Dir: '/run/x/nbd-tls',
      });
      assert.deepEqual(staged, [
        ['spice-tls', ['ca-cert.pem', 'server-cert.pem', 'server-key.pem']],
        ['nbd-tls', ['ca-cert.pem', 'client-cert.pem', 'client-key.pem']],
      ]);
      assert.deepEqual(stageQemuTls(parseDomainXml(domain("<graphics type='spice' autoport='yes'/>")), { spiceDir: dir, nbdDir: dir }, stage), {});
      assert.deepEqual(stageQemuTls(parseDomainXml(domain(spice)), { nbdDir: dir }, stage), {}, 'no spice_tls: nothing staged (the argv refuses the TLS port)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing certificate before QEMU starts, naming the file and the setting', () => {
    assert.throws(
      () => stageQemuTls(parseDomainXml(domain(nbd)), { nbdDir: '/nonexistent/pki' }, () => '/x'),
      (err: unknown) => {
        assert.ok(err instanceof FerryError);
        assert.equal(err.code, 'TLS_MATERIAL_MISSING');
        assert.match(err.message, /'\/nonexistent\/pki\/ca-cert\.pem'/);
        assert.match(err.hint ?? '', /nbd_tls_x509_cert_dir/);
        return true;
      },
    );
  });
});
