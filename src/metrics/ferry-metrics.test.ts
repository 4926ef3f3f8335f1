import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePrometheusText, sampleValue } from '../../test/helpers/prom-text.js';
import { FerryMetrics } from './ferry-metrics.js';

describe('FerryMetrics', () => {
  it("renders strict Prometheus text: ferry_ names, _total counters, domains' counters read at scrape, migrations by outcome", async () => {
    const m = new FerryMetrics({
      domains: async () => [
        {
          state: 'running',
          stats: {
            name: 'vm1',
            uuid: 'u1',
            cpu: { time: 3e9, user: 2e9, system: 1e9 },
            balloon: {
              current: 1024,
              maximum: 2048,
              guest: [
                { tag: 'rss', value: 10 },
                { tag: 'unused', value: 5 },
                { tag: 'major_fault', value: 7 },
              ],
            },
            block: [{ name: 'vda', rd: { reqs: 1, bytes: 512, times: 1e9 }, wr: { reqs: 0, bytes: 0, times: 0 }, fl: { reqs: 0, times: 0 }, capacity: 4096 }],
            net: [{ name: 'vnet0', counters: { rx_bytes: 1, rx_packets: 2, rx_errs: 0, rx_drop: 0, tx_bytes: 3, tx_packets: 4, tx_errs: 0, tx_drop: 0 } }],
          },
        },
        { state: 'shutoff', stats: { name: 'off "quoted"', uuid: 'u2' } },
      ],
      lockd: async () => ({ up: true, leases: 2 }),
    });
    m.migrationFinished({ direction: 'out', outcome: 'succeeded', totalSeconds: 4, downtimeSeconds: 0.05, bytes: 100 * 1024 * 1024 });
    m.migrationFinished({ direction: 'out', outcome: 'failed', totalSeconds: 1 });
    m.preflightFailed('cache-mode');
    m.apiRequest({ method: 'GET', route: '/v1/domains/:ref', status: 200, seconds: 0.002 });
    const { body, contentType } = await m.scrape();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const f = parsePrometheusText(body);
    for (const fam of f.values()) {
      assert.match(fam.name, /^ferry_[a-z_]+$/);
      if (fam.type === 'counter') assert.match(fam.name, /_total$/);
      assert.ok(fam.help.length > 0, `${fam.name} has HELP`);
    }
    assert.equal(sampleValue(f, 'ferry_domains', { state: 'running' }), 1);
    assert.equal(sampleValue(f, 'ferry_domains', { state: 'shutoff' }), 1);
    assert.equal(sampleValue(f, 'ferry_domains', { state: 'paused' }), 0);
    assert.equal(sampleValue(f, 'ferry_domain_cpu_seconds_total', { domain: 'vm1', mode: 'user' }), 2);
    assert.equal(sampleValue(f, 'ferry_domain_memory_current_bytes', { domain: 'vm1' }), 1024 * 1024);
    assert.equal(sampleValue(f, 'ferry_domain_memory_rss_bytes', { domain: 'vm1' }), 10 * 1024);
    assert.equal(sampleValue(f, 'ferry_domain_balloon_guest_bytes', { domain: 'vm1', stat: 'unused' }), 5 * 1024);
    assert.equal(sampleValue(f, 'ferry_domain_balloon_page_faults_total', { domain: 'vm1', type: 'major' }), 7);
    assert.equal(sampleValue(f, 'ferry_domain_block_read_bytes_total', { domain: 'vm1', target: 'vda' }), 512);
    assert.equal(sampleValue(f, 'ferry_domain_block_read_seconds_total', { domain: 'vm1', target: 'vda' }), 1);
    assert.equal(sampleValue(f, 'ferry_domain_net_transmit_packets_total', { domain: 'vm1', interface: 'vnet0' }), 4);
    assert.equal(sampleValue(f, 'ferry_lockd_up'), 1);
    assert.equal(sampleValue(f, 'ferry_leases_held'), 2);
    assert.equal(sampleValue(f, 'ferry_migrations_total', { direction: 'out', outcome: 'succeeded' }), 1);
    assert.equal(sampleValue(f, 'ferry_migrations_total', { direction: 'out', outcome: 'failed' }), 1);
    assert.equal(sampleValue(f, 'ferry_migration_downtime_seconds_count', { outcome: 'succeeded' }), 1);
    assert.equal(sampleValue(f, 'ferry_migration_downtime_seconds_count', { outcome: 'failed' }), undefined, 'no downtime without a switch');
    assert.equal(sampleValue(f, 'ferry_migration_transferred_bytes_bucket', { outcome: 'succeeded', le: String(256 * 1024 * 1024) }), 1);
    assert.equal(sampleValue(f, 'ferry_preflight_failures_total', { check: 'cache-mode' }), 1);
    assert.equal(sampleValue(f, 'ferry_api_request_duration_seconds_count', { route: '/v1/domains/:ref', status_code: '200' }), 1);
  });

  it('a domain that is gone by the next scrape leaves no series behind', async () => {
    let domains = [{ state: 'running' as const, stats: { name: 'vm1', uuid: 'u1', cpu: { time: 1e9, user: 1e9, system: 0 } } }];
    const m = new FerryMetrics({ domains: async () => domains });
    assert.equal(sampleValue(parsePrometheusText((await m.scrape()).body), 'ferry_domain_cpu_seconds_total', { domain: 'vm1' }), 1);
    domains = [];
    const f = parsePrometheusText((await m.scrape()).body);
    assert.equal(sampleValue(f, 'ferry_domain_cpu_seconds_total', { domain: 'vm1' }), undefined);
    assert.equal(sampleValue(f, 'ferry_lockd_up'), undefined, 'lock_manager = "nop": no lockd series');
  });
});

describe('the strict Prometheus text parser of the tests', () => {
  it('refuses what Prometheus would refuse', () => {
    assert.equal(sampleValue(parsePrometheusText('# TYPE a_total counter\na_total{x="q\\"u",y="n\\\\"} 3\n'), 'a_total', { x: 'q"u', y: 'n\\' }), 3);
    for (const bad of [
      'a 1\n', // no TYPE
      '# TYPE a gauge\na{x=1} 1\n', // unquoted label
      '# TYPE a gauge\na one\n', // not a number
      '# TYPE a counter\na -1\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 0\n', // not cumulative
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 0\n', // no +Inf
      '# TYPE a gauge\na 1', // no final newline
    ])
      assert.throws(() => parsePrometheusText(bad), Error, JSON.stringify(bad));
  });
});
