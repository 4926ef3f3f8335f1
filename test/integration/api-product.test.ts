import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { CliStream } from '../helpers/cli-stream.js';
import { FerrydHost } from '../helpers/ferryd.js';
import { REPO_ROOT } from '../helpers/guest.js';
import { requestOverUnix } from '../helpers/http-unix.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

type Schema = Record<string, unknown>;
interface Frame {
  id?: string;
  event?: string;
  data: Record<string, unknown>;
}

/** A raw server-sent event client on a unix socket: what any program (not the ferry CLI) sees. */
function openStream(socket: string, headers: Record<string, string> = {}): Promise<{ frames: Frame[]; headers: http.IncomingHttpHeaders; close: () => void }> {
  return new Promise((resolve, reject) => {
    const frames: Frame[] = [];
    const req = http.get({ socketPath: socket, path: '/v1/events', headers }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const lines = buf.slice(0, i).split('\n');
          buf = buf.slice(i + 2);
          const field = (n: string): string | undefined => lines.find((l) => l.startsWith(`${n}: `))?.slice(n.length + 2);
          const data = field('data');
          if (data === undefined) continue;
          const id = field('id');
          const event = field('event');
          frames.push({ ...(id ? { id } : {}), ...(event ? { event } : {}), data: JSON.parse(data) as Record<string, unknown> });
        }
      });
      res.on('error', () => undefined);
      resolve({ frames, headers: res.headers, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

const domainXml = (name: string): string =>
  `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>`;

/**
 * Issue 13 part 9 on one real ferryd: the OpenAPI document it serves, replies
 * that match their schemas and keep every field the CLI reads, events that
 * resume after a reconnect, and every curl example of docs/api.md.
 */
describe('the API as a product (a real ferryd)', () => {
  const dir = tempDir('ferry-apiprod-');
  const host = new FerrydHost({ dir: join(dir.path, 'h1') });
  const roSocket = join(dir.path, 'h1', 'ferryd-ro.sock');
  const checkedIn = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/api/openapi.json'), 'utf8')) as Schema;

  before(async () => {
    await host.start();
  });
  after(async () => {
    await host.stopAll();
    dir.cleanup();
  });

  it('runs every curl example of docs/api.md against ferryd, as the doc shows them', async () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/api.md'), 'utf8');
    const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    const commands = blocks.flatMap((b) => b.split('\n')).filter((l) => l.includes('curl '));
    assert.ok(commands.length >= 12, `only ${commands.length} examples`);
    const work = join(dir.path, 'examples');
    await new Promise((r) => execFile('mkdir', ['-p', work], r));
    writeFileSync(join(work, 'web.xml'), domainXml('web'));
    let lastId: string | undefined;
    for (const example of commands) {
      const streaming = example.includes(' -N ');
      let cmd = example.replaceAll('/run/ferry/ferryd-ro.sock', roSocket).replaceAll('/run/ferry/ferryd.sock', host.socket);
      if (streaming) {
        if (example.includes('Last-Event-ID')) assert.ok(lastId, 'an event id to resume from');
        cmd = cmd.replace(/Last-Event-ID: [^']+/, `Last-Event-ID: ${lastId}`).replace('curl ', 'curl --max-time 1 ');
      }
      const r = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile('bash', ['-c', cmd], { cwd: work }, (err, out, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, out, err: stderr }));
      });
      if (streaming) {
        // curl ends the stream itself (28: --max-time): the stream had started and carried ids.
        assert.equal(r.code, 28, `${example}: ${r.err}`);
        assert.match(r.out, /^: ferry events\n/, example);
        // Resuming after the doc's first lifecycle event replays the ones after it, with their ids.
        if (example.includes('Last-Event-ID')) assert.match(r.out, /^id: \S+-\d+\nevent: domain\.\w+\ndata: \{/m, example);
        continue;
      }
      assert.equal(r.code, 0, `${example} failed: ${r.err}`);
      if (example.includes(' -o ')) continue;
      const body = r.out.slice(r.out.indexOf('{'));
      const json = JSON.parse(body) as Record<string, unknown>;
      // Errors only where the doc shows one (nosuch, the read-only socket's refusal).
      assert.equal('error' in json, /nosuch|ferryd-ro\.sock.*-X POST/.test(example), `${example}: ${body}`);
      if (example.includes('/destroy')) {
        // The doc's example run has produced lifecycle events: later examples resume after the first.
        const events = await openStream(host.socket, { 'last-event-id': 'x-0' });
        await eventually(() => events.frames.some((f) => f.data.type === 'domain.lifecycle'), 'replayed events');
        lastId = events.frames.find((f) => f.id !== undefined)?.id;
        events.close();
      }
    }
    const served = JSON.parse(readFileSync(join(work, 'ferryd-openapi.json'), 'utf8')) as Schema;
    assert.deepEqual(served, checkedIn, 'GET /openapi.json (read-only socket) is docs/api/openapi.json');
  });

  it('serves docs/api/openapi.json at GET /openapi.json on the read-write socket too', async () => {
    const r = await requestOverUnix(host.socket, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, checkedIn);
  });

  it('replies match their documented schemas and keep every field the CLI reads', async () => {
    // (web is defined by docs/api.md's examples, above)
    const paths = checkedIn.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>>;
    const components = (checkedIn.components as { schemas: Record<string, Schema> }).schemas;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const resolve = (s: Schema): Schema => (typeof s.$ref === 'string' ? (components[s.$ref.replace('#/components/schemas/', '')] as Schema) : s);
    const check = async (path: string, template: string, status: string): Promise<Record<string, unknown>> => {
      const r = await requestOverUnix(host.socket, 'GET', path);
      assert.equal(String(r.status).startsWith(status[0] as string), true, `${path}: ${r.status} ${JSON.stringify(r.body)}`);
      const schema = resolve(paths[template]?.get?.responses[status]?.content?.['application/json']?.schema as Schema);
      assert.ok(schema, `no schema for GET ${template} ${status}`);
      assert.ok(ajv.validate(schema, r.body), `GET ${path}: ${ajv.errorsText()}\n${JSON.stringify(r.body)}`);
      return r.body as Record<string, unknown>;
    };
    const list = await check('/v1/domains?all=true', '/v1/domains', '200');
    const info = await check('/v1/domains/web', '/v1/domains/{ref}', '200');
    await check('/v1/domains/web/xml', '/v1/domains/{ref}/xml', '200');
    await check('/v1/domains/web/state', '/v1/domains/{ref}/state', '200');
    await check('/v1/domains/web/vcpus/count', '/v1/domains/{ref}/vcpus/count', '200');
    await check('/v1/domains/web/disks', '/v1/domains/{ref}/disks', '200');
    await check('/v1/domains/web/interfaces', '/v1/domains/{ref}/interfaces', '200');
    await check('/v1/domains/web/job', '/v1/domains/{ref}/job', '200');
    await check('/v1/domains/web/vcpus', '/v1/domains/{ref}/vcpus', '200');
    await check('/v1/domains/web/vcpus/pins?config=true', '/v1/domains/{ref}/vcpus/pins', '200');
    await check('/v1/domains/web/emulatorpin?config=true', '/v1/domains/{ref}/emulatorpin', '200');
    await check('/v1/domains/web/numatune?config=true', '/v1/domains/{ref}/numatune', '200');
    await check('/v1/domains/web/schedinfo?config=true', '/v1/domains/{ref}/schedinfo', '200');
    await check('/v1/domains/web/memtune?config=true', '/v1/domains/{ref}/memtune', '200');
    await check('/v1/node/cpu-models', '/v1/node/cpu-models', '200');
    await check('/v1/pools?all=true&details=true', '/v1/pools', '200');
    await check('/v1/networks?all=true', '/v1/networks', '200');
    await check('/v1/secrets', '/v1/secrets', '200');
    await check('/v1/node', '/v1/node', '200');
    await check('/v1/version', '/v1/version', '200');
    await check('/v1/locks', '/v1/locks', '200');
    await check('/v1/domains/nosuch', '/v1/domains/{ref}', '4XX');
    // The fields the CLI reads arrive (dominfo's every line, list's columns), not just the schema's.
    assert.deepEqual(Object.keys(info.domain as Schema).sort(), [
      'autostart',
      'cpuTimeSeconds',
      'id',
      'managedSave',
      'maxMemoryKiB',
      'name',
      'osType',
      'persistent',
      'reason',
      'securityLabel',
      'state',
      'taints',
      'usedMemoryKiB',
      'uuid',
      'vcpus',
    ]);
    assert.deepEqual(Object.keys((list.domains as Schema[])[0] ?? {}).sort(), [
      'autostart',
      'domainId',
      'managedSave',
      'name',
      'persistent',
      'reason',
      'state',
      'uuid',
    ]);
    // And the CLI, which reads them, shows them.
    assert.match(await host.ok('dominfo', 'web'), /Max memory:\s+131072 KiB[\s\S]*Persistent:\s+yes/);
    assert.match(await host.ok('list', '--all'), /-\s+web\s+shut off/);
  });

  it('a client that reconnects with Last-Event-ID gets exactly the events it missed; an id of another run says events were lost', async () => {
    const first = await openStream(host.socket);
    await define('ev-a');
    await eventually(() => first.frames.some((f) => f.data.name === 'ev-a'), 'ev-a defined');
    const seen = first.frames.at(-1) as Frame;
    assert.match(seen.id ?? '', /^\S+-\d+$/);
    first.close();
    // While disconnected:
    await define('ev-b');
    await undefine('ev-a');
    const again = await openStream(host.socket, { 'last-event-id': seen.id as string });
    assert.equal(again.headers['ferry-events-lost'], undefined);
    await define('ev-c'); // live, after the replay
    await eventually(() => again.frames.some((f) => f.data.name === 'ev-c'), 'ev-c defined');
    again.close();
    assert.deepEqual(
      again.frames.map((f) => `${f.data.type} ${f.data.name}`),
      ['domain.defined ev-b', 'domain.undefined ev-a', 'domain.defined ev-c'],
    );
    const ids = again.frames.map((f) => Number(f.id?.split('-').pop()));
    assert.deepEqual(ids, [ids[0], (ids[0] as number) + 1, (ids[0] as number) + 2], 'consecutive ids');

    const lost = await openStream(host.socket, { 'last-event-id': 'anotherrun-7' });
    await eventually(() => lost.frames.some((f) => f.data.name === 'ev-c'), 'the kept events replayed');
    lost.close();
    assert.equal(lost.headers['ferry-events-lost'], 'restarted');
    assert.deepEqual(lost.frames[0]?.data, { type: 'ferry.events-lost', reason: 'restarted', lastEventId: 'anotherrun-7', oldestId: lost.frames[1]?.id });
    assert.equal(lost.frames[0]?.id, undefined, 'the notice has no id of its own');
  });

  it('ferry event --loop reconnects when ferryd restarts, prints the events since, and warns that some may be lost', async () => {
    const cli = new CliStream(['event', '--loop', '--all'], { FERRY_DEFAULT_URI: host.uri });
    try {
      // The stream listens once it shows a definition (repeated until it does: it may connect after the first).
      await eventually(async () => {
        if (/loop-w/.test(cli.output())) return true;
        await define('loop-w');
        await undefine('loop-w');
        return false;
      }, 'the event stream listening');
      await define('loop-a');
      await cli.waitFor(/domain 'loop-a': Defined Added/, 'loop-a defined');
      await host.restart();
      await define('loop-b');
      await cli.waitFor(/domain 'loop-b': Defined Added/, 'loop-b defined, after the restart');
    } finally {
      const r = await cli.stop();
      assert.equal(r.stdout.match(/loop-a/g)?.length, 1, `loop-a once:\n${r.stdout}`);
      assert.match(r.stderr, /the event stream was lost.*reconnecting/);
      assert.match(r.stderr, /events may have been missed: ferryd restarted/);
    }
  });

  // Events come from definitions made through the API itself (quicker than a CLI process each).
  async function define(name: string): Promise<void> {
    const r = await requestOverUnix(host.socket, 'POST', '/v1/domains', { body: JSON.stringify({ xml: domainXml(name) }) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  async function undefine(name: string): Promise<void> {
    const r = await requestOverUnix(host.socket, 'DELETE', `/v1/domains/${name}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
});
