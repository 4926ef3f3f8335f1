import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually } from '../helpers/processes.js';
import { parsePrometheusText, type PromFamily, sampleValue } from '../helpers/prom-text.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/two-hosts.js';

/** The TCP ports a process listens on (its socket inodes matched against /proc/net/tcp{,6} rows in state LISTEN). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1] as string);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9] as string)) ports.push(parseInt((f[1] as string).split(':')[1] as string, 16));
    }
  }
  return ports.sort();
}

/** virsh's `Domain: 'NAME'` records: field → value, per domain. */
function parseDomstats(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    const head = /^Domain: '(.*)'$/.exec(line);
    if (head) out.set(head[1] as string, (cur = new Map()));
    else if (line !== '') {
      const m = /^ {2}([a-z0-9_.-]+)=(.*)$/.exec(line);
      assert.ok(m && cur, `a domstats line is '  field=value' under a Domain: header: '${line}'`);
      cur.set(m[1] as string, m[2] as string);
    }
  }
  return out;
}

/**
 * Issue 13 part 8 on real processes: one ferryd with metrics_listen (A) and
 * one without (B), one real QEMU guest with a disk and a NIC. virsh's stats
 * verbs, the /metrics exposition scraped over HTTP, and the migration
 * metrics after one live migration A→B.
 */
describe('metrics and domain statistics', () => {
  const dir = tempDir('ferry-metrics-');
  let a: FerrydHost;
  let b: FerrydHost;
  let metricsPort = 0;
  let bPeer = '';
  let bad: FerrydHost | undefined;
  let badStart: Promise<unknown> = Promise.resolve();
  const name = 'statvm';

  const scrape = async (): Promise<{ families: Map<string, PromFamily>; contentType: string }> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(res.status, 200);
    return { families: parsePrometheusText(await res.text()), contentType: res.headers.get('content-type') ?? '' };
  };

  before(async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    metricsPort = await freePort();
    writeFileSync(`${dir.path}/a.conf`, `metrics_listen = "127.0.0.1:${metricsPort}"\n`);
    a = new FerrydHost({ dir: `${dir.path}/a`, listenTcp: `127.0.0.1:${pa}`, config: `${dir.path}/a.conf` });
    b = new FerrydHost({ dir: `${dir.path}/b`, listenTcp: `127.0.0.1:${pb}` });
    bPeer = `ferry+tcp://127.0.0.1:${pb}/system`;
    // A ferryd with a bad metrics_listen, started alongside (its refusal is checked in the last test).
    writeFileSync(`${dir.path}/bad.conf`, 'metrics_listen = "localhost"\n');
    bad = new FerrydHost({ dir: `${dir.path}/bad`, config: `${dir.path}/bad.conf` });
    badStart = bad.start();
    badStart.catch(() => undefined);
    await Promise.all([a.start(), b.start()]);
    const disk = `${dir.path}/vda.raw`;
    execFileSync('truncate', ['-s', '8M', disk]);
    writeFileSync(
      `${dir.path}/${name}.xml`,
      guestXml({
        name,
        devices: `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
        <interface type='ethernet'><mac address='52:54:00:5e:13:08'/><model type='virtio'/></interface>`,
      }),
    );
    await a.ok('define', `${dir.path}/${name}.xml`);
    await a.ok('start', name);
    await waitHeartbeats(() => a.serialLog(name), 2, { timeoutMs: 90_000 });
  });

  after(async () => {
    await bad?.stopAll();
    for (const h of [a, b]) {
      if (!h) continue;
      // The guest runs on A, or on B after the migration: destroyed where it runs (one CLI process, not two).
      const running = await h.api<{ domains: Array<{ name: string }> }>('/v1/domains').catch(() => ({ domains: [] }));
      if (running.domains.some((d) => d.name === name)) await h.ferry('destroy', name);
      await h.stopAll();
    }
    dir.cleanup();
  });

  it("domstats prints virsh's groups and keys; cpu.time grows; domblkstat, domifstat and dommemstat print virsh's formats", async () => {
    const first = parseDomstats(await a.ok('domstats', name)).get(name);
    assert.ok(first, 'a Domain: record for the guest');
    assert.equal(first.get('state.state'), '1', 'running is 1');
    assert.equal(first.get('state.reason'), '1', 'booted is 1');
    assert.equal(first.get('balloon.maximum'), String(128 * 1024));
    assert.equal(first.get('vcpu.current'), '1');
    assert.equal(first.get('vcpu.0.state'), '1');
    assert.equal(first.get('net.count'), '1');
    assert.match(first.get('net.0.name') ?? '', /^[a-z0-9]+$/);
    for (const k of ['rx.bytes', 'rx.pkts', 'rx.errs', 'rx.drop', 'tx.bytes', 'tx.pkts', 'tx.errs', 'tx.drop'])
      assert.match(first.get(`net.0.${k}`) ?? '', /^\d+$/, `net.0.${k}`);
    assert.equal(first.get('block.count'), '1');
    assert.equal(first.get('block.0.name'), 'vda');
    assert.equal(first.get('block.0.path'), `${dir.path}/vda.raw`);
    assert.ok(
      Number(first.get('block.0.rd.bytes')) > 0 && Number(first.get('block.0.rd.reqs')) > 0,
      'the guest kernel read the disk (its partition table) at boot',
    );
    assert.equal(first.get('block.0.capacity'), String(8 * 1024 * 1024));
    // The order is libvirt's: groups state, cpu, balloon, vcpu, net, block.
    const keys = [...first.keys()];
    const at = (k: string): number => keys.indexOf(k);
    assert.ok(
      at('state.state') < at('cpu.time') &&
        at('cpu.time') < at('balloon.current') &&
        at('balloon.current') < at('vcpu.current') &&
        at('vcpu.current') < at('net.count') &&
        at('net.count') < at('block.count'),
      keys.join(' '),
    );

    // cpu.time (ns) grows while the guest runs (it writes a heartbeat every 100 ms); wait for it rather than sleep.
    const t0 = Number(first.get('cpu.time'));
    assert.ok(t0 > 0);
    // (Polled through the API the CLI calls: one process less per try.)
    const cpuTime = async (): Promise<number> => {
      const r = await a.api<{ domains: Array<{ params: Array<{ field: string; value: number }> }> }>(`/v1/domain-stats?group=cpu-total&domain=${name}`);
      return r.domains[0]?.params.find((p) => p.field === 'cpu.time')?.value ?? 0;
    };
    await eventually(async () => (await cpuTime()) > t0, 'cpu.time grows');

    // A group alone, of the domains a --list-* filter keeps (named ones too, as libvirt's virDomainListGetStats).
    assert.equal(await a.ok('domstats', '--state', '--list-running'), `Domain: '${name}'\n  state.state=1\n  state.reason=1\n\n`);
    assert.equal(await a.ok('domstats', '--list-shutoff', name), '\n', 'a running domain is filtered out by --list-shutoff');

    // domblkstat: virsh's legacy names, the --human labels, and the sum over all disks without a device.
    const blk = await a.ok('domblkstat', name, 'vda');
    assert.match(
      blk,
      /^vda rd_req \d+\nvda rd_bytes \d+\nvda wr_req \d+\nvda wr_bytes \d+\nvda flush_operations \d+\nvda rd_total_times \d+\nvda wr_total_times \d+\nvda flush_total_times \d+\n\n$/,
    );
    assert.ok(Number(/rd_bytes (\d+)/.exec(blk)?.[1]) > 0);
    // No device: the sum over the disks (one here), under an empty device name.
    assert.match(await a.ok('domblkstat', name, '--human'), /^Device: \n number of read operations: {6}\d+\n number of bytes read: {11}[1-9]\d*\n/);
    const nodisk = await a.ferry('domblkstat', name, 'vdz');
    assert.equal(nodisk.code, 1);
    assert.match(nodisk.stderr, /Failed to get block stats for domain 'statvm' device 'vdz'/);

    const tap = first.get('net.0.name') as string;
    assert.match(await a.ok('domifstat', name, tap), new RegExp(`^${tap} rx_bytes \\d+\\n${tap} rx_packets \\d+\\n(${tap} \\w+ \\d+\\n){6}\\n$`));
    const mem = await a.ok('dommemstat', name);
    assert.match(mem, /^actual 131072\n(\w+ \d+\n)*rss \d+\n\n$/);
  });

  it("/metrics: parses strictly as Prometheus text with the domain's series and the latency of a route just called; off on a ferryd without metrics_listen", async () => {
    await a.ok('dominfo', name);
    const { families, contentType } = await scrape();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(sampleValue(families, 'ferry_domains', { state: 'running' }), 1);
    assert.equal(sampleValue(families, 'ferry_domains', { state: 'shutoff' }), 0);
    assert.ok((sampleValue(families, 'ferry_domain_cpu_seconds_total', { domain: name, mode: 'user' }) ?? -1) >= 0);
    assert.equal(sampleValue(families, 'ferry_domain_memory_max_bytes', { domain: name }), 128 * 1024 * 1024);
    assert.ok((sampleValue(families, 'ferry_domain_block_read_bytes_total', { domain: name, target: 'vda' }) ?? 0) > 0);
    assert.notEqual(sampleValue(families, 'ferry_domain_net_transmit_packets_total', { domain: name }), undefined);
    assert.equal(sampleValue(families, 'ferry_lockd_up'), 1, 'ferry-lockd answers');
    assert.equal(sampleValue(families, 'ferry_leases_held'), 1, "the guest's disk lease");
    // The route's pattern, not the URL with the domain's name in it.
    assert.ok((sampleValue(families, 'ferry_api_request_duration_seconds_count', { method: 'GET', route: '/v1/domains/:ref', status_code: '200' }) ?? 0) >= 1);
    assert.ok(![...families.values()].some((f) => f.samples.some((s) => s.labels.route?.includes(name))), 'no raw URL as a label');
    // Only /metrics is served.
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/v1/domains`)).status, 404);
    // B has no metrics_listen: it listens on its listen_tcp port and nothing else.
    assert.deepEqual(listeningPorts(b.pid as number), [Number(bPeer.replace(/^.*:(\d+)\/system$/, '$1'))]);
    assert.equal(listeningPorts(a.pid as number).includes(metricsPort), true);
  });

  it('a failed pre-flight check is counted by name; a live migration A→B is counted on A, with its time, downtime and bytes', async () => {
    // The disk has the default cache mode: the cache-mode check fails (and --unsafe lets the migration go).
    const check = await a.ferry('migrate-check', name, bPeer);
    assert.notEqual(check.code, 0, check.stdout);
    assert.equal(sampleValue((await scrape()).families, 'ferry_preflight_failures_total', { check: 'cache-mode' }), 1);
    await a.ok('migrate', '--live', '--unsafe', name, bPeer);
    const { families } = await scrape();
    assert.equal(sampleValue(families, 'ferry_preflight_failures_total', { check: 'cache-mode' }), 1, 'allowed by --unsafe: not a failure');
    const out = { direction: 'out', outcome: 'succeeded' };
    assert.equal(sampleValue(families, 'ferry_migrations_total', out), 1);
    assert.equal(sampleValue(families, 'ferry_migration_duration_seconds_count', out), 1);
    assert.ok((sampleValue(families, 'ferry_migration_duration_seconds_sum', out) ?? 0) > 0);
    assert.equal(sampleValue(families, 'ferry_migration_downtime_seconds_count', out), 1);
    assert.equal(sampleValue(families, 'ferry_migration_transferred_bytes_count', out), 1);
    assert.ok((sampleValue(families, 'ferry_migration_transferred_bytes_sum', out) ?? 0) > 1024 * 1024, "the guest's memory went over");
    assert.equal(sampleValue(families, 'ferry_domains', { state: 'running' }), 0);
    assert.equal(sampleValue(families, 'ferry_domain_block_read_bytes_total', { domain: name }), undefined, 'no series of a domain that runs elsewhere');
  });

  it('a metrics_listen that is not host:port stops ferryd at start with a coded error', async () => {
    await assert.rejects(
      badStart,
      /ferryd: error: .*metrics_listen must be host:port, such as "127\.0\.0\.1:9477", not "localhost"\nhint: Fix the named setting in ferryd.conf/,
    );
  });
});
