import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Lab } from '../../lab/lab.js';
import { linkBytes } from '../../lab/network.js';
import { bootLabGuest, okOnHost } from '../helpers/lab-cli.js';
import { tempDir } from '../helpers/tmp.js';

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** "Data processed:   123.456 MiB" from domjobinfo --completed, in bytes. */
function dataProcessed(jobinfo: string): number {
  const m = /Data processed:\s+([\d.]+) (B|KiB|MiB|GiB)/.exec(jobinfo);
  if (!m) throw new Error(`no "Data processed" in:\n${jobinfo}`);
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

type Counters = Record<'eth0' | 'eth1' | 'uplink', number>;

/** Bytes sent by a host on each of its links. */
function sent(lab: Lab, host: string): Counters {
  const ns = lab.host(host).ns;
  return { eth0: linkBytes(ns, 'eth0').tx, eth1: linkBytes(ns, 'eth1').tx, uplink: linkBytes(ns, 'uplink').tx };
}

/**
 * Migrates `vm` from one host to the other with `args`, and returns how many
 * bytes left the source on each link next to how many QEMU moved.
 */
async function migrateCounting(lab: Lab, from: string, to: string, vm: string, args: string[]): Promise<{ delta: Counters; data: number }> {
  const before = sent(lab, from);
  await okOnHost(lab, from, 'migrate', '--live', ...args, vm, lab.peerUri(lab.host(to)));
  const afterwards = sent(lab, from);
  const data = dataProcessed(await okOnHost(lab, to, 'domjobinfo', '--completed', vm));
  return { delta: { eth0: afterwards.eth0 - before.eth0, eth1: afterwards.eth1 - before.eth1, uplink: afterwards.uplink - before.uplink }, data };
}

function assertCarried(t: TestContext, r: { delta: Counters; data: number }, link: 'eth0' | 'eth1', what: string): void {
  const other = link === 'eth0' ? 'eth1' : 'eth0';
  t.diagnostic(
    `${what}: QEMU moved ${(r.data / 2 ** 20).toFixed(1)} MiB; the source sent eth0 ${(r.delta.eth0 / 2 ** 20).toFixed(2)} MiB, eth1 ${(r.delta.eth1 / 2 ** 20).toFixed(2)} MiB, br1 uplink ${(r.delta.uplink / 1024).toFixed(1)} KiB`,
  );
  assert.ok(r.data > 20 * 2 ** 20, `the migration moved the guest's memory (${r.data} bytes)`);
  assert.ok(r.delta[link] >= r.data * 0.95, `${link} carried the migration data: ${r.delta[link]} bytes sent for ${r.data} moved`);
  assert.ok(r.delta[other] < 4 * 2 ** 20, `${other} carried no migration data: ${r.delta[other]} bytes`);
  // The VM bridge sees the guest's own traffic only (ARP, the announce): never the migration stream.
  assert.ok(r.delta.uplink < 256 * 1024, `br1's uplink carried no migration data: ${r.delta.uplink} bytes`);
}

describe('an isolated migration network: the data goes where migration_address says, never over br1', () => {
  const dir = tempDir('ferry-e2e-mignet-');
  let lab: Lab;

  before(async () => {
    // The lab's ferryd.conf sets migration_address to each host's eth1 address (10.231.2.x).
    lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fe2emn' });
    await bootLabGuest(lab, 'h1', 0, { name: 'db', mac: '52:54:00:fe:01:01', memoryMiB: 192, touchMiB: 48, hbMs: 200 });
  });

  after(async () => {
    await lab?.down();
    dir.cleanup();
  });

  it("the destination's configured migration address (migration_address) takes the data, though the URI names the management address", async (t) => {
    assertCarried(t, await migrateCounting(lab, 'h1', 'h2', 'db', []), 'eth1', 'h1→h2 by migration_address');
    assertCarried(t, await migrateCounting(lab, 'h2', 'h1', 'db', []), 'eth1', 'h2→h1 by migration_address');
  });
});

describe('without a migration address, --migrateuri and --listen-address choose the network', () => {
  const dir = tempDir('ferry-e2e-mignet2-');
  let lab: Lab;

  before(async () => {
    lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fe2emw', extraConfig: 'migration_address = "0.0.0.0"' });
    await bootLabGuest(lab, 'h1', 0, { name: 'db', mac: '52:54:00:fe:01:02', memoryMiB: 192, touchMiB: 48, hbMs: 200 });
  });

  after(async () => {
    await lab?.down();
    dir.cleanup();
  });

  it("by default the data follows the URI's host (the management network)", async (t) => {
    assertCarried(t, await migrateCounting(lab, 'h1', 'h2', 'db', []), 'eth0', 'h1→h2 to the URI host');
  });

  it('--migrateuri tcp://<migration address> moves it to the migration network', async (t) => {
    assertCarried(
      t,
      await migrateCounting(lab, 'h2', 'h1', 'db', ['--migrateuri', `tcp://${lab.host('h1').migrationAddress}`]),
      'eth1',
      'h2→h1 with --migrateuri',
    );
  });

  it('--listen-address <migration address> makes the destination listen, and be reached, there', async (t) => {
    assertCarried(
      t,
      await migrateCounting(lab, 'h1', 'h2', 'db', ['--listen-address', lab.host('h2').migrationAddress]),
      'eth1',
      'h1→h2 with --listen-address',
    );
  });
});
