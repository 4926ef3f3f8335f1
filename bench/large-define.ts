/**
 * How responsive ferryd stays while domains as large as it accepts (just
 * under 20,000 elements) are defined: the latency of `list --all` before and
 * during `--concurrent` defines at once, for `--rounds` rounds. Measured
 * twice: the CLI's API call (GET /v1/domains?all=true) every 25 ms, then the
 * real `ferry list --all` one after the other (its node start-up included);
 * the request bodies are built before any clock runs. Then `dominfo` and
 * `dumpxml` of such a domain, through the API. Prints one JSON line per phase.
 * Usage: node dist/bench/large-define.js [--concurrent 6] [--rounds 3] [--elements 19500]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { FerrydHost } from '../test/helpers/ferryd.js';
import { guestXml } from '../test/helpers/guest.js';
import { rawRequest } from '../test/helpers/raw-http.js';
import { tempDir } from '../test/helpers/tmp.js';

const { values } = parseArgs({
  options: { concurrent: { type: 'string', default: '6' }, rounds: { type: 'string', default: '3' }, elements: { type: 'string', default: '19500' } },
});

/** GET /v1/domains?all=true every 25 ms; posts each latency in ms. */
const PROBE = `
  const http = require('node:http');
  const { parentPort, workerData } = require('node:worker_threads');
  const once = () => new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get({ socketPath: workerData.socket, path: '/v1/domains?all=true', agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error('list: ' + res.statusCode))));
    }).on('error', reject);
  });
  (async () => { for (;;) { parentPort.postMessage(await once()); await new Promise((r) => setTimeout(r, 25)); } })();
`;

function stats(samples: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0);
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: Math.round(s.at(-1) ?? 0) };
}

/** A domain just under the limits: the test guest with `elements` small elements in <metadata>. */
function largeXml(name: string, elements: number): string {
  const filler = Array.from({ length: elements }, (_, i) => `<e n='${i}'>${'x'.repeat(24)}</e>`).join('');
  return guestXml({ name }).replace('<vcpu>', `<metadata><bench xmlns='urn:ferry:bench'>${filler}</bench></metadata>\n  <vcpu>`);
}

async function main(): Promise<void> {
  const dir = tempDir('ferry-bench-large-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const socket = { socketPath: host.socket };
  const elements = Number(values.elements);
  try {
    await host.start();
    // The API probe runs on its own thread, so the load this process sends does not delay its clock.
    const probe = async (until: () => boolean): Promise<number[]> => {
      const worker = new Worker(PROBE, { eval: true, workerData: { socket: host.socket } });
      const samples: number[] = [];
      worker.on('message', (ms: number) => samples.push(ms));
      while (!until()) await new Promise((res) => setTimeout(res, 10));
      await worker.terminate();
      return samples;
    };
    const cli = async (until: () => boolean): Promise<number[]> => {
      const out: number[] = [];
      while (!until()) {
        const t0 = performance.now();
        await host.ok('list', '--all');
        out.push(performance.now() - t0);
      }
      return out;
    };
    let batch = 0;
    /** Runs `measure` while rounds of concurrent defines go on; the bodies are JSON-encoded before the clock starts. */
    const probeWhileDefining = async (measure: (until: () => boolean) => Promise<number[]>): Promise<{ latencies: number[]; defineMs: number[] }> => {
      const tag = batch++;
      const bodies = Array.from({ length: Number(values.rounds) }, (_, round) =>
        Array.from({ length: Number(values.concurrent) }, (_, i) => ({
          name: `big-${tag}-${round}-${i}`,
          json: JSON.stringify({ xml: largeXml(`big-${tag}-${round}-${i}`, elements) }),
        })),
      );
      const defineMs: number[] = [];
      let stop = false;
      const load = (async () => {
        for (const round of bodies) {
          await Promise.all(
            round.map(async ({ name, json }) => {
              const t0 = performance.now();
              const r = await rawRequest(socket, { method: 'POST', path: '/v1/domains', json });
              if (r.status !== 200) throw new Error(`define ${name} failed: ${r.status} ${r.body.slice(0, 300)}`);
              defineMs.push(performance.now() - t0);
            }),
          );
        }
      })().finally(() => {
        stop = true;
      });
      const [latencies] = await Promise.all([measure(() => stop), load]);
      return { latencies, defineMs };
    };
    const sample = largeXml('sample', elements);
    process.stdout.write(`${JSON.stringify({ phase: 'document', bytes: Buffer.byteLength(sample), elements: elements + 20 })}\n`);

    let deadline = performance.now() + 3000;
    const idleApi = await probe(() => performance.now() > deadline);
    deadline = performance.now() + 5000;
    const idleCli = await cli(() => performance.now() > deadline);
    process.stdout.write(`${JSON.stringify({ phase: 'idle', listApiMs: stats(idleApi), listCliMs: stats(idleCli) })}\n`);

    const api = await probeWhileDefining(probe);
    const viaCli = await probeWhileDefining(cli);
    process.stdout.write(
      `${JSON.stringify({ phase: 'defining', concurrent: Number(values.concurrent), rounds: Number(values.rounds), defineMs: stats([...api.defineMs, ...viaCli.defineMs]), listApiMs: stats(api.latencies), listCliMs: stats(viaCli.latencies) })}\n`,
    );

    // Like the 13 MB with 500,000 elements: refused before it is read (body limit), or before it is parsed (XML limits).
    const refusals: Record<string, { status?: number; code?: string; ms: number }> = {};
    for (const [label, xml] of [
      ['500k elements', largeXml('huge', 500_000).replace(/x{24}/g, 'x')],
      ['60k elements', largeXml('big3', 60_000)],
    ] as const) {
      const json = JSON.stringify({ xml });
      const t0 = performance.now();
      const r = await rawRequest(socket, { method: 'POST', path: '/v1/domains', json });
      refusals[`${label} (${(json.length / 1e6).toFixed(1)} MB)`] = {
        ...(r.status !== undefined ? { status: r.status } : {}),
        ...(r.code ? { code: r.code } : {}),
        ms: Math.round(performance.now() - t0),
      };
    }
    process.stdout.write(`${JSON.stringify({ phase: 'oversized', refusals })}\n`);

    const timed = async (path: string): Promise<number> => {
      const t0 = performance.now();
      const r = await rawRequest(socket, { path });
      if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
      return performance.now() - t0;
    };
    const small = `${dir.path}/small.xml`;
    writeFileSync(small, guestXml({ name: 'small' }));
    await host.ok('define', small);
    const dominfo: number[] = [];
    const dumpxml: number[] = [];
    const smallInfo: number[] = [];
    for (let i = 0; i < 10; i++) {
      dominfo.push(await timed('/v1/domains/big-0-0-0'));
      dumpxml.push(await timed('/v1/domains/big-0-0-0/xml'));
      smallInfo.push(await timed('/v1/domains/small'));
    }
    process.stdout.write(
      `${JSON.stringify({ phase: 'queries', dominfoLargeMs: stats(dominfo), dumpxmlLargeMs: stats(dumpxml), dominfoSmallMs: stats(smallInfo) })}\n`,
    );
  } finally {
    await host.stopAll();
    dir.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
