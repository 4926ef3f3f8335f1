import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../lab/lab.js';
import { vmAddress } from '../../lab/plan.js';
import { Capture } from '../helpers/capture.js';
import { bootLabGuest, ferryOnHost, okOnHost } from '../helpers/lab-cli.js';
import { Ping } from '../helpers/ping.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const MAC = '52:54:00:fe:00:01';

/**
 * The seed's ping test, on hosts that look like the seed's: two network
 * namespaces with a VM bridge br1 each, joined through a switch. The VM is
 * pinged from the switch side while it moves live from h1 to h2.
 */
describe("the seed's ping test: a VM on br1 stays reachable through a live migration", () => {
  const dir = tempDir('ferry-e2e-ping-');
  let lab: Lab;

  before(async () => {
    lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fe2eping' });
    await bootLabGuest(lab, 'h1', 0, { name: 'web', mac: MAC, memoryMiB: 256, touchMiB: 32, dirtyMiBs: 4, hbMs: 200 });
  });

  after(async () => {
    await lab?.down();
    dir.cleanup();
  });

  it('pings through the migration h1→h2: the VM answers again on h2, h2 announces it (RARP) and the switch learns its new port', async (t) => {
    const ip = vmAddress(lab.plan, 0);
    const fdbPort = (): string | undefined => {
      const line = lab
        .onSwitch('bridge', 'fdb', 'show', 'br', 'vmlan')
        .split('\n')
        .find((l) => l.startsWith(MAC));
      return line ? /dev (\S+)/.exec(line)?.[1] : undefined;
    };
    assert.equal(fdbPort(), 'h1-vm', 'before the migration the switch reaches the VM through h1');
    const announce = await new Capture(lab.plan.switchNs, 'h2-vm', 'ether proto 0x8035 or arp').start();
    const ping = new Ping(lab.plan.switchNs, ip, 0.1).start();
    await eventually(() => ping.replies() >= 10, 'ten replies before the migration', 10_000);

    // The seed's command line, verbatim, typed on h1: the source ferryd reaches h2 through ssh with root's key.
    const r = await ferryOnHost(lab, 'h1', 'migrate', '--live', 'web', 'qemu+ssh://h2/system', '--verbose', '--persistent');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Migration: \[100 %\]/);
    const repliesAtSwitch = ping.replies();
    await eventually(() => ping.replies() >= repliesAtSwitch + 20, 'twenty replies after the migration', 15_000);
    const rarp = (): string[] => announce.lines().filter((l) => l.includes(`${MAC} > ff:ff:ff:ff:ff:ff`) && /Reverse ARP|0x8035/.test(l));
    await eventually(() => rarp().length >= 1, "the destination announced the VM with RARP on h2's uplink", 10_000).catch((err: Error) =>
      assert.fail(`${err.message}; captured:\n${announce.lines().join('\n')}`),
    );
    const summary = await ping.stop();
    await announce.stop();

    // How many pings a migration costs is measured by bench/migration-lab.ts --ping (BENCHMARKS.md), not asserted here.
    t.diagnostic(`ping: ${summary.transmitted} sent, ${summary.received} received, ${summary.lost} lost (icmp_seq ${summary.missing.join(', ') || 'none'})`);
    assert.ok(summary.transmitted >= 30, `ping ran through the migration (${summary.transmitted} requests)`);
    assert.equal(fdbPort(), 'h2-vm', 'the switch now reaches the VM through h2');
    assert.match(await okOnHost(lab, 'h2', 'domstate', 'web'), /running/);
    // --persistent without --undefinesource: the definition stays on h1 too (shut off), as in the seed.
    assert.match(await okOnHost(lab, 'h1', 'list', '--all'), /-\s+web\s+shut off/);
  });
});
