import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { rawRequest } from '../helpers/raw-http.js';
import { sample, sampleUrl, type Schema } from '../helpers/schema-sample.js';
import { stubApp } from '../helpers/stub-app.js';
import { guestXml } from '../helpers/guest.js';
import { tempDir } from '../helpers/tmp.js';

/** Bad input gets a coded error in virsh's words, and nothing is half-applied. */
describe('bad input', () => {
  const dir = tempDir('ferry-bad-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const file = (name: string, text: string): string => {
    const f = `${dir.path}/${name}`;
    writeFileSync(f, text);
    return f;
  };

  before(async () => {
    await host.start();
  });
  after(async () => {
    await host.stopAll();
    dir.cleanup();
  });

  it('malformed XML is refused with the line and nothing is defined', async () => {
    const f = file('bad.xml', "<domain type='kvm'>\n  <name>x</name>\n  <memory>1024</memory\n</domain>\n");
    const r = await host.ferry('define', f);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: Failed to define domain from ${f}\nerror: XML error: .*line \\d+.*\nhint: .*\\[XML_MALFORMED\\]\n$`));
    assert.equal((await host.ok('list', '--all', '--name')).trim(), '');
  });

  it('every element that matters but is unsupported is named, all at once, with its device', async () => {
    const xml = guestXml({ name: 'hp', devices: "<interface type='user'><vlan><tag id='42'/></vlan></interface>" }).replace(
      '<vcpu>',
      "<idmap><uid start='0' target='1000' count='10'/><gid start='0' target='1000' count='10'/></idmap><vcpu>",
    );
    const r = await host.ferry('define', file('unsupported.xml', xml));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: Failed to define domain from .*\nerror: unsupported configuration: 2 parts of this definition cannot be run as defined:\n {2}- <idmap> in <domain> is not supported\n {2}- <interface type='user'> #0: <vlan> in <interface> is not supported\nhint: .*\[XML_UNSUPPORTED\]\n$/,
    );
    assert.equal((await host.ok('list', '--all', '--name')).trim(), '', 'nothing was defined');
  });

  it('a missing file is reported as virsh does', async () => {
    const r = await host.ferry('define', `${dir.path}/nope.xml`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: Failed to open file '.*nope.xml': No such file or directory\n/);
  });

  it('a duplicate name or uuid is refused', async () => {
    const uuid = '5a1e5a1e-0000-4000-8000-000000000001';
    await host.ok('define', file('d1.xml', guestXml({ name: 'dup', uuid })));
    const sameName = await host.ferry('define', file('d2.xml', guestXml({ name: 'dup', uuid: '5a1e5a1e-0000-4000-8000-000000000002' })));
    assert.equal(sameName.code, 1);
    assert.match(sameName.stderr, new RegExp(`error: operation failed: domain 'dup' already exists with uuid ${uuid}\nhint: .*\\[DOMAIN_EXISTS\\]`));
    const sameUuid = await host.ferry('define', file('d3.xml', guestXml({ name: 'dup2', uuid })));
    assert.equal(sameUuid.code, 1);
    assert.match(sameUuid.stderr, new RegExp(`error: operation failed: domain 'dup' already exists with uuid ${uuid}`));
    assert.deepEqual((await host.ok('list', '--all', '--name')).trim().split('\n'), ['dup']);
  });

  it('a missing QEMU binary fails the start and leaves the domain shut off', async () => {
    const xml = guestXml({ name: 'noqemu' }).replace('<devices>', '<devices>\n    <emulator>/nonexistent/qemu-system-x86_64</emulator>');
    await host.ok('define', file('noqemu.xml', xml));
    const before = await host.ok('dumpxml', 'noqemu');
    const r = await host.ferry('start', 'noqemu');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: Failed to start domain 'noqemu'\nerror: Cannot find QEMU binary \/nonexistent\/qemu-system-x86_64: No such file or directory\nhint: .*\[QEMU_BINARY_MISSING\]/,
    );
    assert.equal(await host.state('noqemu'), 'shut off (unknown)');
    assert.equal(await host.ok('dumpxml', 'noqemu'), before);
  });

  it("QEMU exiting at start shows the tail of QEMU's own stderr", async () => {
    const disk =
      "<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='/nonexistent/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>";
    await host.ok('define', file('nodisk.xml', guestXml({ name: 'nodisk', disks: disk })));
    const r = await host.ferry('start', 'nodisk');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: Failed to start domain 'nodisk'\nerror: internal error: QEMU unexpectedly closed the monitor \(exit 1\): [\s\S]*Could not open '\/nonexistent\/disk.qcow2': No such file or directory/,
    );
    assert.match(r.stderr, /\[QEMU_LAUNCH_FAILED\]/);
    assert.match(await host.ok('list', '--all'), / -    nodisk +shut off/);
    const log = (await import('node:fs')).readFileSync(`${host.stateDir}/log/nodisk.log`, 'utf8');
    assert.match(log, /starting up\n.*qemu-system-x86_64/, 'the domain log has the command line');
  });

  it("operations on a domain in the wrong state are refused with virsh's words", async () => {
    const r = await host.ferry('suspend', 'dup');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.split('\n').slice(0, 2).join('\n'),
      "error: Failed to suspend domain 'dup'\nerror: Requested operation is not valid: domain is not running",
    );
    const u = await host.ferry('undefine', 'nosuch');
    assert.match(u.stderr, /^error: failed to get domain 'nosuch'\n/);
  });

  it('an unreachable daemon is reported as virsh does', async () => {
    const r = await host.ferry('-c', `ferry:///system?socket=${dir.path}/none.sock`, 'list');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: failed to connect to the hypervisor\nerror: Failed to connect socket to '${dir.path}/none.sock': No such file or directory\nhint: .*\\[CONNECT_FAILED\\]`,
      ),
    );
    const bad = await host.ferry('-c', 'xen:///system', 'list');
    assert.match(bad.stderr, /error: unsupported connection URI 'xen:\/\/\/system'/);
  });

  it('XML with a DOCTYPE or entities is refused with XML_DOCTYPE_REFUSED, and no entity is expanded', async () => {
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE domain [\n<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n`;
    const files = {
      define: file('dtd.xml', bomb + guestXml({ name: 'dtd' }).replace('<name>dtd</name>', '<name>&b;</name>')),
      create: file('sys.xml', `<!DOCTYPE domain SYSTEM "file:///etc/passwd">\n${guestXml({ name: 'sys' })}`),
      'net-define': file('net.xml', `${bomb}<network><name>&b;</name></network>`),
      'pool-define': file('pool.xml', `${bomb}<pool type='dir'><name>&b;</name><target><path>/tmp/x</path></target></pool>`),
    };
    for (const [verb, f] of Object.entries(files)) {
      const r = await host.ferry(verb, f);
      assert.equal(r.code, 1, verb);
      assert.match(
        r.stderr,
        /error: XML error: <!DOCTYPE at line \d: ferry reads no DTD and expands no entities\nhint: .*\[XML_DOCTYPE_REFUSED\]\n$/,
        `${verb}: ${r.stderr}`,
      );
    }
    const undefinedEntity = await host.ferry('define', file('ent.xml', guestXml({ name: 'ent' }).replace('<name>ent</name>', '<name>&foo;</name>')));
    assert.match(undefinedEntity.stderr, /error: XML error: entity '&foo;' is not defined \(ferry reads no DTD\)\nhint: .*\[XML_MALFORMED\]/);
    assert.doesNotMatch(await host.ok('list', '--all', '--name'), /aaaa|dtd|sys|ent/);
  });

  it('a body over the API limit is REQUEST_TOO_LARGE, and XML over 1 MiB or 20,000 elements is XML_TOO_LARGE; ferryd answers on', async () => {
    // The body is announced, not sent: ferryd answers from Content-Length alone, and a client still writing 5 MiB
    // when ferryd closes the connection would get a reset instead of the answer (a race of the client, not ferryd's).
    const huge = await rawRequest(
      { socketPath: host.socket },
      { method: 'POST', path: '/v1/domains', json: '', headers: { 'content-type': 'application/json', 'content-length': String(5 * 1024 * 1024) } },
    );
    assert.equal(huge.status, 413);
    assert.equal(huge.code, 'REQUEST_TOO_LARGE');
    assert.match(JSON.parse(huge.body).error.message, /larger than the 4 MiB ferryd accepts/);
    const many = guestXml({ name: 'many' }).replace('<vcpu>', `<metadata>${'<x/>'.repeat(25_000)}</metadata><vcpu>`);
    const r = await host.ferry('define', file('many.xml', many));
    assert.match(r.stderr, /error: XML error: the document has \d+ elements, more than the 20000 ferry reads\nhint: .*\[XML_TOO_LARGE\]/);
    const big = guestXml({ name: 'big' }).replace('<vcpu>', `<metadata><x>${'y'.repeat(1100 * 1024)}</x></metadata><vcpu>`);
    const b = await host.ferry('define', file('big.xml', big));
    assert.match(b.stderr, /error: XML error: the document has \d+ bytes, more than the 1048576 ferry reads\nhint: .*\[XML_TOO_LARGE\]/);
    assert.equal((await host.ok('list', '--all', '--name')).includes('many'), false);
  });

  it('a malformed peer pre-flight request is INVALID_ARGUMENT naming the field (it was "req.disks is not iterable")', async () => {
    const { app, routes } = await stubApp();
    await app.close();
    const route = routes.find((x) => x.url === '/peer/v1/preflight');
    const request = sample((route?.schema?.body as Schema).properties?.request as Schema) as Record<string, unknown>;
    request.disks = 5;
    const res = await rawRequest({ socketPath: host.socket }, { method: 'POST', path: '/peer/v1/preflight', body: { request } });
    assert.equal(res.status, 400);
    assert.equal(res.code, 'INVALID_ARGUMENT');
    // ajv turns a lone value into a one-item list before it checks the item: either way the field is named.
    assert.match(JSON.parse(res.body).error.message, /^invalid request: field 'request\.disks(\.0)?' of the request body must be (array|object)$/);
  });

  it('no route answers INTERNAL_ERROR to input its schema lets through: every route, with every field filled with junk', async () => {
    const { app, routes } = await stubApp();
    await app.close();
    const internal: string[] = [];
    for (const r of routes) {
      if (r.url === '/v1/events') continue; // a stream, no input
      const body = r.schema?.body ? sample(r.schema.body as Schema) : undefined;
      const res = await rawRequest({ socketPath: host.socket }, { method: r.method, path: sampleUrl(r), ...(body === undefined ? {} : { body }) });
      if (res.status === undefined || (res.status >= 500 && res.code === 'INTERNAL_ERROR'))
        internal.push(`${r.method} ${sampleUrl(r)}: ${res.status ?? res.error} ${res.body.slice(0, 200)}`);
    }
    assert.deepEqual(internal, []);
    assert.equal((await host.ferry('list')).code, 0, 'ferryd still answers');
  });
});
