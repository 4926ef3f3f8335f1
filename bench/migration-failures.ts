/**
 * What the guest sees when a live migration fails, and how long ferry takes to
 * notice: two ferryd on this machine, the test guest (256 MiB, 96 MiB touched,
 * 4 MiB/s dirtied, a heartbeat every 50 ms), live migrations A→B that are
 * broken on purpose while they transfer. The VM must stay on A; this measures
 * the times the integration tests (test/integration/migration-failures,
 * migration-tls, migration-convergence) used to assert.
 *
 *   node dist/bench/migration-failures.js [--runs 3] [--scenario NAME]...
 *
 * Scenarios: dest-qemu-killed (SIGKILL of the incoming QEMU), connection-cut
 * (a proxy in the migration stream closes it after 20 MiB), dest-ferryd-killed
 * (SIGKILL of ferryd B), tls-foreign-ca (--tls to a host whose certificate
 * comes from another CA), timeout (a guest dirtying 32 MiB/s over a 16 MiB/s
 * link with --timeout 4: ferry aborts it).
 *
 * Prints one JSON line per run:
 *   hbGapMs    the longest time between two heartbeats of the guest, as the host saw
 *              them appear on the serial console, from the start of `ferry migrate`
 *              until three heartbeats after it failed (the guest's own pause)
 *   failMs     from the fault (the kill, the cut) to the end of `ferry migrate`
 *              (for tls-foreign-ca and timeout: the command's whole wall time)
 *   overrunMs  timeout only: wall time minus the --timeout
 */
import { parseArgs } from 'node:util';
import { CuttingProxy } from '../test/helpers/cutting-proxy.js';
import { HeartbeatWatch } from '../test/helpers/heartbeat-watch.js';
import { lastSeq, waitHeartbeats } from '../test/helpers/heartbeat.js';
import { eventually, qemuPidsOf } from '../test/helpers/processes.js';
import { TestPki } from '../test/helpers/test-pki.js';
import { freePort, TwoHosts } from '../test/helpers/two-hosts.js';

const SCENARIOS = ['dest-qemu-killed', 'connection-cut', 'dest-ferryd-killed', 'tls-foreign-ca', 'timeout'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    scenario: { type: 'string', multiple: true, default: [...SCENARIOS] },
  },
});

interface Outcome {
  code: number;
  stderr: string;
  /** Date.now() of the fault, when there is one. */
  faultAt?: number;
}

/** Waits until domjobinfo on A shows memory being moved. */
async function transferring(hosts: TwoHosts, name: string): Promise<void> {
  await eventually(async () => /Data processed: +[1-9]/.test(await hosts.a.ok('domjobinfo', name)), 'the migration is transferring memory');
}

async function runScenario(hosts: TwoHosts, scenario: Scenario, name: string, uuid: string): Promise<Outcome> {
  switch (scenario) {
    case 'dest-qemu-killed': {
      const migrating = hosts.a.ferry('migrate', '--live', '--bandwidth', '16', name, hosts.bPeer);
      await transferring(hosts, name);
      const faultAt = Date.now();
      for (const pid of qemuPidsOf(hosts.b.stateDir, uuid)) process.kill(pid, 'SIGKILL');
      return { ...(await migrating), faultAt };
    }
    case 'connection-cut': {
      const port = await freePort('127.0.0.1');
      const proxy = new CuttingProxy({ host: '127.0.0.1', port }, 20 * 1024 * 1024);
      await proxy.listen('127.0.0.2', port);
      try {
        const r = await hosts.a.ferry(
          'migrate',
          '--live',
          '--bandwidth',
          '16',
          '--listen-address',
          '127.0.0.1',
          '--migrateuri',
          `tcp://127.0.0.2:${port}`,
          name,
          hosts.bPeer,
        );
        return { ...r, ...(proxy.cutAt !== undefined ? { faultAt: proxy.cutAt } : {}) };
      } finally {
        await proxy.close();
      }
    }
    case 'dest-ferryd-killed': {
      const migrating = hosts.a.ferry('migrate', '--live', '--bandwidth', '32', name, hosts.bPeer);
      await transferring(hosts, name);
      const faultAt = Date.now();
      await hosts.b.kill('SIGKILL');
      const r = await migrating;
      await hosts.b.start();
      await eventually(() => qemuPidsOf(hosts.b.stateDir, uuid).length === 0, 'B cleaned up');
      return { ...r, faultAt };
    }
    case 'tls-foreign-ca':
      return hosts.a.ferry('migrate', '--live', '--tls', name, hosts.bPeer);
    case 'timeout':
      return hosts.a.ferry('migrate', '--live', '--bandwidth', '16', '--timeout', '4', name, hosts.bPeer);
  }
}

async function main(): Promise<void> {
  const scenarios = (values.scenario as string[]).map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}; one of ${SCENARIOS.join(', ')}`);
    return s as Scenario;
  });
  // Each host its own CA, so --tls fails at QEMU's handshake (tls-foreign-ca); plain migrations do not use them.
  const hosts = new TwoHosts();
  const pkiA = new TestPki(`${hosts.dir.path}/pki-a`, 'CA of host A');
  const pkiB = new TestPki(`${hosts.dir.path}/pki-b`, 'another CA');
  pkiA.writeTlsDir(`${hosts.dir.path}/tls-a`, pkiA.issue('host-a', { sans: ['IP:127.0.0.1', 'DNS:localhost'] }));
  pkiB.writeTlsDir(`${hosts.dir.path}/tls-b`, pkiB.issue('host-b', { sans: ['IP:127.0.0.1', 'DNS:localhost'] }));
  await hosts.start({ config: `tls_dir = "${hosts.dir.path}/tls-a"\n`, extraConfigB: `tls_dir = "${hosts.dir.path}/tls-b"\n` });
  try {
    const booted = new Set<string>();
    for (const scenario of scenarios) {
      const name = scenario === 'timeout' ? 'hot' : 'victim';
      if (!booted.has(name)) {
        await hosts.bootOnA(
          scenario === 'timeout'
            ? { name, memoryMiB: 256, touchMiB: 32, dirtyMiBs: 32, hbMs: 50 }
            : { name, memoryMiB: 256, touchMiB: 96, dirtyMiBs: 4, hbMs: 50 },
        );
        booted.add(name);
      }
      const uuid = (await hosts.a.ok('domuuid', name)).trim();
      for (let run = 1; run <= Number(values.runs); run++) {
        const serial = (): string[] => [`${hosts.a.stateDir}/log/${name}-serial0.log`, `${hosts.b.stateDir}/log/${name}-serial0.log`];
        const watch = new HeartbeatWatch(serial).start();
        const t0 = Date.now();
        const r = await runScenario(hosts, scenario, name, uuid);
        const end = Date.now();
        if (r.code === 0) throw new Error(`${scenario}: the migration succeeded`);
        if (!/^running/.test(await hosts.a.state(name))) throw new Error(`${scenario}: the VM does not run on A: ${await hosts.a.state(name)}`);
        await waitHeartbeats(() => hosts.a.serialLog(name), 3, { afterSeq: lastSeq(hosts.a.serialLog(name)) });
        watch.stop();
        process.stdout.write(
          `${JSON.stringify({
            scenario,
            run,
            hbGapMs: watch.maxGapMs(t0),
            failMs: end - (r.faultAt ?? t0),
            ...(scenario === 'timeout' ? { overrunMs: end - t0 - 4000 } : {}),
            error: r.stderr.split('\n')[0],
          })}\n`,
        );
        await eventually(() => qemuPidsOf(hosts.b.stateDir, uuid).length === 0, 'no QEMU left on B');
      }
    }
  } finally {
    await hosts.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
