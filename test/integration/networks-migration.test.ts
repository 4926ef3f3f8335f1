import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { waitHeartbeats, parseHeartbeats } from '../helpers/heartbeat.js';
import { createBridge, deleteLink } from '../helpers/netns.js';
import { TwoHosts } from '../helpers/two-hosts.js';
import { row } from '../helpers/preflight-table.js';

/** The domain's tap (domiflist's first interface) and the bridge it is a port of. */
async function tapOf(host: FerrydHost, domain: string): Promise<{ tap: string; bridge: string }> {
  const line = (await host.ok('domiflist', domain)).split('\n')[2] as string;
  const tap = line.trim().split(/ +/)[0] as string;
  return { tap, bridge: basename(readlinkSync(`/sys/class/net/${tap}/master`)) };
}

/**
 * A VM whose interface says network='vmnet' migrates live between two ferryd
 * that put vmnet on bridges of different names: each host's tap joins its own
 * bridge, and the definition that travels keeps type='network'.
 */
describe('virtual networks in a live migration', () => {
  const hosts = new TwoHosts();
  const p = `fnt${randomBytes(3).toString('hex')}`;
  const [bridgeA, bridgeB] = [`${p}a`, `${p}b`];
  const nic = "<interface type='network'><source network='vmnet'/><model type='virtio'/></interface>";
  let mac = '';

  async function defineVmnet(host: FerrydHost, bridge: string): Promise<void> {
    const file = `${hosts.dir.path}/vmnet-${bridge}.xml`;
    writeFileSync(file, `<network><name>vmnet</name><forward mode='bridge'/><bridge name='${bridge}'/></network>`);
    await host.ok('net-define', file);
    await host.ok('net-start', 'vmnet');
  }

  before(async () => {
    createBridge(bridgeA);
    createBridge(bridgeB);
    await hosts.start();
    await defineVmnet(hosts.a, bridgeA);
    await defineVmnet(hosts.b, bridgeB);
  });
  after(async () => {
    await hosts.stop();
    deleteLink(bridgeA);
    deleteLink(bridgeB);
  });

  it("A→B→A: on each host the tap joins that host's bridge of vmnet; the guest keeps running", async () => {
    await hosts.bootOnA({ name: 'netmig', memoryMiB: 128, touchMiB: 16, devices: nic });
    const onA = await tapOf(hosts.a, 'netmig');
    assert.equal(onA.bridge, bridgeA);
    mac = /<mac address='([^']+)'/.exec(await hosts.a.ok('dumpxml', 'netmig'))?.[1] ?? '';

    const check = await hosts.a.ferry('migrate-check', 'netmig', hosts.bPeer);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.deepEqual(row(check.stdout, 'Networks and bridges'), { outcome: 'pass', reason: `networks active: vmnet (bridge ${bridgeB})` });

    const r = await hosts.a.ferry('migrate', '--live', '--persistent', 'netmig', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state('netmig'), 'running (migrated)');
    const onB = await tapOf(hosts.b, 'netmig');
    assert.equal(onB.bridge, bridgeB, 'the destination put the tap on its own bridge of vmnet');
    assert.equal(existsSync(`/sys/class/net/${onA.tap}`), false, 'the source removed its tap');
    assert.match(
      await hosts.b.ok('dumpxml', 'netmig'),
      new RegExp(`<interface type='network'>\\n +<mac address='${mac}'/>\\n +<source network='vmnet' bridge='${bridgeB}'/>`),
    );
    const persistent = await hosts.b.ok('dumpxml', '--inactive', 'netmig');
    assert.match(persistent, new RegExp(`<interface type='network'>\\n +<mac address='${mac}'/>\\n +<source network='vmnet'/>`));
    assert.doesNotMatch(persistent, new RegExp(`${bridgeA}|${bridgeB}`), "no host's bridge travels in the definition");
    const seq = parseHeartbeats(hosts.serial('netmig')).at(-1)?.seq ?? 0;
    await waitHeartbeats(() => hosts.b.serialLog('netmig'), 2, { afterSeq: seq });

    const back = await hosts.b.ferry('migrate', '--live', '--persistent', '--undefinesource', 'netmig', hosts.aPeer);
    assert.equal(back.code, 0, back.stderr);
    assert.equal((await tapOf(hosts.a, 'netmig')).bridge, bridgeA);
    assert.equal(existsSync(`/sys/class/net/${onB.tap}`), false);
  });

  it('pre-flight refuses the migration when vmnet is not active or not defined on the destination, and says how to fix it', async () => {
    const hostname = os.hostname();
    await hosts.b.ok('net-destroy', 'vmnet');
    try {
      const inactive = await hosts.a.ferry('migrate-check', 'netmig', hosts.bPeer);
      assert.equal(inactive.code, 1);
      assert.deepEqual(row(inactive.stdout, 'Networks and bridges'), {
        outcome: 'fail',
        reason: `interface ${mac}: network 'vmnet' is not active on ${hostname}`,
      });
      assert.match(
        inactive.stdout,
        new RegExp(
          `How to fix:\\n[\\s\\S]*Networks and bridges: Start it on ${hostname}: ferry net-start vmnet \\(and ferry net-autostart vmnet so it starts with ferryd\\)`,
        ),
      );

      await hosts.b.ok('net-undefine', 'vmnet');
      const missing = await hosts.a.ferry('migrate-check', 'netmig', hosts.bPeer);
      assert.deepEqual(row(missing.stdout, 'Networks and bridges'), {
        outcome: 'fail',
        reason: `interface ${mac}: network 'vmnet' does not exist on ${hostname}`,
      });
      assert.match(
        missing.stdout,
        new RegExp(
          `Networks and bridges: Define it on ${hostname}, naming that host's bridge \\(<forward mode='bridge'/><bridge name=\\.\\.\\.>\\): ferry net-define FILE && ferry net-start vmnet`,
        ),
      );

      // migrate runs the same checks first: refused, nothing moves.
      const r = await hosts.a.ferry('migrate', '--live', 'netmig', hosts.bPeer);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(` Networks and bridges +fail +interface ${mac}: network 'vmnet' does not exist on ${hostname}`));
      assert.match(r.stderr, /error: pre-flight checks failed: Networks and bridges\n/);
      assert.equal((await hosts.b.ferry('dominfo', 'netmig')).code, 1, 'nothing arrived on B');
      assert.match(await hosts.a.state('netmig'), /^running/);
    } finally {
      if ((await hosts.b.ferry('net-info', 'vmnet')).code !== 0) await defineVmnet(hosts.b, bridgeB);
      else await hosts.b.ferry('net-start', 'vmnet');
    }
  });
});
