import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { PortAllocator } from '../system/port-allocator.js';
import { pino } from 'pino';
import { tempDir } from '../../test/helpers/tmp.js';
import { DomainLauncher } from '../host/domain-launcher.js';
import { HostPaths } from '../host/host-paths.js';
import { HostService } from '../host/host-service.js';
import { QemuCapabilities } from '../host/qemu-capabilities.js';
import { openDatabase } from '../store/database.js';
import { DomainStore } from '../store/domain-store.js';
import { DomainJobs } from '../vm/jobs.js';
import { buildApp } from './app.js';
import { NopLockDriver } from '../locking/lock-driver.js';
import { VmLocks } from '../locking/vm-locks.js';
import { VolumeUuids } from '../locking/volume-uuid.js';
import { runCommand } from '../storage/command-runner.js';
import { QemuFileAccess } from '../host/qemu-file-access.js';
import { TapOpener } from '../system/tap-device.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/domains/${name}`, import.meta.url), 'utf8');

/** The API's parsing and error mapping, with app.inject(), a real SQLite store and no QEMU. */
describe('buildApp()', () => {
  const dir = tempDir('ferry-api-');
  const log = pino({ level: 'silent' });
  const db = openDatabase(`${dir.path}/ferry.db`);
  const paths = new HostPaths(dir.path);
  const caps = new QemuCapabilities({ accel: 'tcg', log, probeDir: `${dir.path}/probe` });
  const qemuBinary = '/nonexistent/qemu';
  const access = new QemuFileAccess({ account: undefined, dynamicOwnership: false });
  const launcher = new DomainLauncher({
    paths,
    caps,
    qemuBinary,
    hostId: 'h',
    log,
    access,
    taps: new TapOpener(),
    sandbox: true,
    graphicsPorts: new PortAllocator(5900, 65535),
    websocketPorts: new PortAllocator(5700, 65535),
  });
  const service = new HostService({
    store: new DomainStore(db),
    locks: new VmLocks({
      driver: new NopLockDriver(),
      config: { autoDiskLeases: true, requireLeaseForDisks: false },
      uuids: new VolumeUuids(runCommand),
      diskPath: (d) => launcher.diskPath(d),
      log,
    }),
    jobs: new DomainJobs(100),
    launcher,
    caps,
    qemuBinary,
    hostname: 'test',
    log,
  });
  const app = buildApp({ service, log });

  before(() => app.ready());
  after(async () => {
    await app.close();
    db.close();
    dir.cleanup();
  });

  it('POST /v1/domains defines and GET lists it; dumpxml parses back', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/domains', payload: { xml: fixture('minimal.xml') } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().domain.name, 'tiny');
    const list = await app.inject({ url: '/v1/domains?all=true' });
    assert.deepEqual(
      list.json().domains.map((d: { name: string; state: string }) => [d.name, d.state]),
      [['tiny', 'shutoff']],
    );
    const active = await app.inject({ url: '/v1/domains' });
    assert.deepEqual(active.json().domains, []);
    const xml = await app.inject({ url: '/v1/domains/tiny/xml' });
    assert.match(xml.json().xml, /<name>tiny<\/name>/);
  });

  it('maps error codes to statuses and carries code, message and hint', async () => {
    const missing = await app.inject({ url: '/v1/domains/nope' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(Object.keys(missing.json().error).sort(), ['code', 'details', 'hint', 'message']);
    assert.equal(missing.json().error.code, 'DOMAIN_NOT_FOUND');

    const bad = await app.inject({ method: 'POST', url: '/v1/domains', payload: { xml: '<domain' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'XML_MALFORMED');

    const noBody = await app.inject({ method: 'POST', url: '/v1/domains', payload: {} });
    assert.equal(noBody.statusCode, 400);
    assert.equal(noBody.json().error.code, 'INVALID_ARGUMENT');

    const action = await app.inject({ method: 'POST', url: '/v1/domains/tiny/explode', payload: {} });
    assert.equal(action.statusCode, 400);

    const notRunning = await app.inject({ method: 'POST', url: '/v1/domains/tiny/suspend', payload: {} });
    assert.equal(notRunning.statusCode, 409);
    assert.equal(notRunning.json().error.message, 'Requested operation is not valid: domain is not running');

    const noQemu = await app.inject({ method: 'POST', url: '/v1/domains/tiny/start', payload: {} });
    assert.equal(noQemu.statusCode, 503);
    assert.equal(noQemu.json().error.code, 'QEMU_BINARY_MISSING');
  });

  it('PATCH /v1/domains/:ref/disks/:target edits the persistent definition', async () => {
    const xml = fixture('full.xml').replace("cache='none' io='native'", "cache='writeback'");
    await app.inject({ method: 'POST', url: '/v1/domains', payload: { xml } });
    const r = await app.inject({ method: 'PATCH', url: '/v1/domains/MasteringKVM01/disks/vda', payload: { cache: 'none' } });
    assert.equal(r.statusCode, 200);
    const disks = await app.inject({ url: '/v1/domains/MasteringKVM01/disks' });
    assert.equal(disks.json().disks[0].cache, 'none');
    const nodisk = await app.inject({ method: 'PATCH', url: '/v1/domains/MasteringKVM01/disks/vdz', payload: { cache: 'none' } });
    assert.equal(nodisk.json().error.code, 'DISK_NOT_FOUND');
  });

  it('a URL whose escapes do not decode is refused as every bad input is, with a ferry error code (fuzz: GET /v1/domains/%/block-stats)', async () => {
    const r = await app.inject({ url: '/v1/domains/%/block-stats' });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error.code, 'INVALID_ARGUMENT');
    assert.match(r.json().error.message, /^invalid request: .*not a valid url component/);
  });
});
