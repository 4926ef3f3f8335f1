import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { configFromText } from '../daemon/config.js';
import { FerryMetrics } from './ferry-metrics.js';
import { openMetricsListener } from './metrics-listener.js';

const log = pino({ level: 'silent' });
const metrics = (): FerryMetrics => new FerryMetrics({ domains: async () => [] });

describe('metrics_listen', () => {
  it('is off by default, and ferryd.conf refuses a value that is not host:port', () => {
    assert.equal(configFromText('', 'ferryd.conf').metricsListen, '');
    assert.equal(configFromText('metrics_listen = "[::1]:9477"', 'ferryd.conf').metricsListen, '[::1]:9477');
    for (const bad of ['"localhost"', '"127.0.0.1:99999"', '"127.0.0.1:"', '9477']) {
      assert.throws(
        () => configFromText(`metrics_listen = ${bad}`, 'ferryd.conf'),
        (e: unknown) => e instanceof FerryError && e.code === 'CONFIG_INVALID' && /ferryd\.conf:1: metrics_listen must be host:port/.test(e.message),
        bad,
      );
    }
  });

  it('a port in use or an address not of this host is METRICS_LISTEN_FAILED with a hint; a free one serves /metrics only', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        openMetricsListener(`127.0.0.1:${port}`, metrics(), log),
        (e: unknown) => e instanceof FerryError && e.code === 'METRICS_LISTEN_FAILED' && /EADDRINUSE/.test(e.message) && /pick another port/.test(e.hint),
      );
    } finally {
      taken.close();
    }
    // 192.0.2.0/24 is TEST-NET-1: never an address of this host.
    await assert.rejects(openMetricsListener('192.0.2.1:9477', metrics(), log), (e: unknown) => e instanceof FerryError && e.code === 'METRICS_LISTEN_FAILED');
    const l = await openMetricsListener('127.0.0.1:0', metrics(), log);
    try {
      const ok = await fetch(`http://127.0.0.1:${l.address.port}/metrics`);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^# HELP ferry_/m);
      assert.equal((await fetch(`http://127.0.0.1:${l.address.port}/`)).status, 404);
    } finally {
      await l.close();
    }
  });
});
