import http from 'node:http';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { splitHostPort } from '../transport/host-port.js';
import type { FerryMetrics } from './ferry-metrics.js';

export interface MetricsListener {
  /** The address it listens on (the port chosen when metrics_listen gave port 0). */
  address: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * metrics_listen: a plain HTTP listener of its own that answers GET /metrics
 * (Prometheus' text format) and nothing else, so a scraper never reaches the
 * API. Off unless configured. A bad address or a port in use stops ferryd
 * at start with a coded error.
 */
export async function openMetricsListener(listen: string, metrics: FerryMetrics, log: Logger): Promise<MetricsListener> {
  const { host, port } = splitHostPort(listen, 'metrics_listen');
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end(path === '/metrics' ? 'only GET\n' : 'try /metrics\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => {
        log.error({ err }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${(err as Error).message}\n`);
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new FerryError('METRICS_LISTEN_FAILED', `cannot listen for metrics on ${listen}: ${err.message}`, {
          hint:
            err.code === 'EADDRINUSE'
              ? `Another process listens on ${listen} ("ss -ltnp | grep :${port}"): pick another port with metrics_listen in ferryd.conf`
              : `Give metrics_listen an address of this host, such as "127.0.0.1:9477" (docs/metrics.md)`,
          cause: err,
        }),
      );
    });
    server.listen({ host, port }, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  log.info({ metricsListen: `${a.address}:${a.port}` }, 'Prometheus metrics at /metrics');
  return {
    address: { host: a.address, port: a.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
