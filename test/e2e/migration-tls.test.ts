import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../lab/lab.js';
import { Capture } from '../helpers/capture.js';
import { bootLabGuest, ferryOnHost, labSerialLog, okOnHost } from '../helpers/lab-cli.js';
import { guestCorrupted } from '../helpers/heartbeat.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * A --tls migration between lab hosts, with the certificates `ferry cert-*`
 * issued (the lab's CA): what crosses the migration network is TLS, where a
 * plain migration shows QEMU's stream magic "QEVM" in the clear.
 */
describe('migrate --tls between lab hosts: the memory crosses the migration network encrypted', () => {
  const dir = tempDir('ferry-e2e-tls-');
  let lab: Lab;

  /** The first packets toward the destination's migration ports on the source's eth1, in ASCII, while `args` migrate the VM. */
  async function migrateWatchingWire(from: string, to: string, args: string[]): Promise<string> {
    const capture = await new Capture(lab.host(from).ns, 'eth1', 'tcp and dst portrange 49152-49215 and greater 80', ['-A', '-s', '160', '-c', '60']).start();
    const r = await ferryOnHost(lab, from, 'migrate', '--live', '--verbose', ...args, 'vault', lab.peerUri(lab.host(to)));
    assert.equal(r.code, 0, r.stderr);
    return (await capture.stop()).join('\n');
  }

  before(async () => {
    lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fe2etls' });
    await bootLabGuest(lab, 'h1', 0, { name: 'vault', mac: '52:54:00:fe:02:01', memoryMiB: 192, touchMiB: 32, dirtyMiBs: 4, hbMs: 200 });
  });

  after(async () => {
    await lab?.down();
    dir.cleanup();
  });

  it("a plain migration shows QEMU's stream in the clear; with --tls only TLS records cross, and the guest runs on", async () => {
    const plain = await migrateWatchingWire('h1', 'h2', []);
    assert.match(plain, /QEVM/, "the plain stream starts with QEMU's magic, readable on the wire");
    const secret = await migrateWatchingWire('h2', 'h1', ['--tls']);
    assert.ok(secret.split('\n').length > 20, `packets were captured:\n${secret.slice(0, 500)}`);
    assert.doesNotMatch(secret, /QEVM/, 'with --tls the stream is not readable on the wire');
    assert.match(await okOnHost(lab, 'h1', 'domstate', 'vault'), /running/);
    assert.equal(guestCorrupted(labSerialLog(lab, 'h1', 'vault') + labSerialLog(lab, 'h2', 'vault')), false);
  });

  it('the pre-flight table shows the TLS certificate check passing for both hosts', async () => {
    const r = await okOnHost(lab, 'h1', 'migrate-check', '--tls', 'vault', lab.peerUri(lab.host('h2')));
    assert.match(r, /TLS certificates?\s.*(ok|pass)/i);
  });
});
