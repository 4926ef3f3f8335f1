import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { FerrydHost } from '../helpers/ferryd.js';
import { tempDir } from '../helpers/tmp.js';

/** One answer from ferryd: the HTTP status, the ferry error code if it is one, the parsed JSON (or undefined). */
export interface Reply {
  status: number;
  code?: string;
  json?: unknown;
  text: string;
}

/** ferryd's memory and descriptors, read from /proc. */
export interface Health {
  rssKiB: number;
  fds: number;
}

/** A request that got no answer within this time is a hang. */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * A real ferryd for the fuzzer (started as the integration tests start one), with the requests the
 * surfaces send over its unix socket, its health from /proc, and a snapshot of every definition it holds.
 */
export class FuzzTarget {
  private readonly dir = tempDir('ferry-fuzz-');
  readonly host = new FerrydHost({ dir: `${this.dir.path}/host` });

  get workDir(): string {
    return this.dir.path;
  }

  async start(): Promise<this> {
    await this.host.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.host.stopAll();
    this.dir.cleanup();
  }

  /** One request, its body sent as given (a Buffer may hold bytes that are not UTF-8); a hang or a dead ferryd throws. */
  request(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
      const req = http.request(
        {
          socketPath: this.host.socket,
          method,
          path,
          agent: false,
          headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              // not JSON
            }
            const code = (json as { error?: { code?: string } } | undefined)?.error?.code;
            resolve({ status: res.statusCode ?? 0, text, ...(code ? { code } : {}), ...(json === undefined ? {} : { json }) });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`ferryd did not answer ${method} ${path} within ${REQUEST_TIMEOUT_MS} ms (a hang)`));
      }, REQUEST_TIMEOUT_MS);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`${method} ${path}: no answer from ferryd (${err.message}); alive: ${this.alive()}`));
      });
      req.end(payload);
    });
  }

  /** A JSON request; the body is serialised as given. */
  call(method: string, path: string, body?: unknown): Promise<Reply> {
    return this.request(method, path, body === undefined ? undefined : JSON.stringify(body));
  }

  alive(): boolean {
    const pid = this.host.pid;
    if (pid === undefined) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  health(): Health {
    const pid = this.host.pid;
    if (pid === undefined) throw new Error('ferryd is not running');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { rssKiB: Number(rss?.[1] ?? 0), fds: readdirSync(`/proc/${pid}/fd`).length };
  }

  /**
   * Everything ferryd holds, as text: the lists (domains, networks, pools, secrets) and every
   * definition's XML. Two snapshots are equal when nothing changed.
   */
  async snapshot(): Promise<string> {
    const parts: string[] = [];
    const get = async (path: string): Promise<unknown> => {
      const r = await this.call('GET', path);
      if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${r.text}`);
      return r.json;
    };
    const domains = ((await get('/v1/domains?all=true')) as { domains: { name: string }[] }).domains;
    parts.push(JSON.stringify(domains));
    for (const d of domains) parts.push(((await get(`/v1/domains/${encodeURIComponent(d.name)}/xml?inactive=true`)) as { xml: string }).xml);
    const networks = ((await get('/v1/networks?all=true')) as { networks: { name: string }[] }).networks;
    parts.push(JSON.stringify(networks));
    for (const n of networks) parts.push(((await get(`/v1/networks/${encodeURIComponent(n.name)}/xml`)) as { xml: string }).xml);
    const pools = ((await get('/v1/pools?all=true')) as { pools: { name: string }[] }).pools;
    parts.push(JSON.stringify(pools));
    for (const p of pools) parts.push(((await get(`/v1/pools/${encodeURIComponent(p.name)}/xml`)) as { xml: string }).xml);
    parts.push(JSON.stringify(await get('/v1/secrets')));
    return parts.join('\n----\n');
  }
}
