import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { openDatabase, type FerryDatabase } from '../store/database.js';
import { DomainJobs } from '../vm/jobs.js';
import type { HostBridges } from './host-bridges.js';
import type { BridgeSpec } from './network-definition.js';
import { NetworkService } from './network-service.js';
import { NetworkStore } from './network-store.js';

/** The host's interfaces as a set: bridges ferry or the "admin" made, other interfaces, and what was asked. */
class FakeBridges implements HostBridges {
  readonly bridges = new Set<string>();
  readonly others = new Set<string>();
  readonly created: BridgeSpec[] = [];
  readonly removed: string[] = [];
  isBridge(name: string): boolean {
    return this.bridges.has(name);
  }
  exists(name: string): boolean {
    return this.bridges.has(name) || this.others.has(name);
  }
  async create(spec: BridgeSpec): Promise<void> {
    this.created.push(spec);
    this.bridges.add(spec.name);
  }
  async remove(name: string): Promise<void> {
    this.removed.push(name);
    this.bridges.delete(name);
  }
}

const forward = (name: string, bridge: string): string => `<network><name>${name}</name><forward mode='bridge'/><bridge name='${bridge}'/></network>`;
const isolated = (name: string, bridge?: string): string =>
  `<network><name>${name}</name>${bridge ? `<bridge name='${bridge}'/>` : ''}<ip address='10.9.0.1' prefix='24'/></network>`;

async function rejects(p: Promise<unknown> | (() => unknown), code: string, message: RegExp): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e: unknown) => {
      assert.ok(e instanceof FerryError, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('NetworkService (real SQLite, fake bridges)', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: FerryDatabase;
  let bridges: FakeBridges;
  let nets: NetworkService;

  beforeEach(() => {
    dir = tempDir('ferry-net-');
    db = openDatabase(`${dir.path}/state.db`);
    bridges = new FakeBridges();
    nets = new NetworkService({ store: new NetworkStore(db), bridges, jobs: new DomainJobs(1000), log: pino({ level: 'silent' }) });
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('define() picks the first virbrN that no network and no interface uses', () => {
    bridges.others.add('virbr0');
    nets.define(isolated('one', 'virbr1'));
    const def = nets.define(isolated('two'));
    assert.equal(def.bridge.name, 'virbr2');
    assert.match(nets.dumpXml('two'), /<bridge name='virbr2' stp='on' delay='0'\/>/);
    assert.equal(nets.define(nets.dumpXml('two')).bridge.name, 'virbr2', 'redefining keeps its own bridge');
  });

  it('define() refuses an isolated bridge another network uses, and a second network of the same name', async () => {
    nets.define(isolated('one', 'fnt1'));
    await rejects(() => nets.define(isolated('two', 'fnt1')), 'NET_EXISTS', /bridge name 'fnt1' already in use by network 'one'/);
    await rejects(() => nets.define(forward('one', 'br1')), 'NET_EXISTS', /network 'one' already exists with uuid/);
  });

  it('start() of a forward-bridge network needs the host bridge; destroy() leaves that bridge alone', async () => {
    nets.define(forward('vmnet', 'br1'));
    await rejects(nets.start('vmnet'), 'NET_BRIDGE_MISSING', /Cannot start network 'vmnet': host bridge 'br1' does not exist/);
    bridges.others.add('br1');
    await rejects(nets.start('vmnet'), 'NET_BRIDGE_MISSING', /interface 'br1' is not a bridge/);
    bridges.others.delete('br1');
    bridges.bridges.add('br1');
    await nets.start('vmnet');
    await rejects(nets.start('vmnet'), 'NET_ACTIVE', /network is already active/);
    assert.equal(nets.bridgeOf('vmnet'), 'br1');
    await nets.destroy('vmnet');
    assert.deepEqual([bridges.created, bridges.removed], [[], []]);
    assert.ok(bridges.isBridge('br1'));
    await rejects(nets.destroy('vmnet'), 'NET_NOT_ACTIVE', /network 'vmnet' is not active/);
  });

  it('an isolated network creates its bridge at start and deletes it at destroy; a name in use is refused', async () => {
    const def = nets.define(isolated('iso', 'fntiso'));
    await nets.start(def.uuid);
    assert.deepEqual(bridges.created, [{ name: 'fntiso', stp: true, delay: 0, addresses: ['10.9.0.1/24'] }]);
    assert.deepEqual(nets.info('iso'), {
      name: 'iso',
      uuid: def.uuid,
      forward: 'isolated',
      active: true,
      autostart: false,
      persistent: true,
      bridge: 'fntiso',
    });
    await nets.destroy('iso');
    assert.deepEqual(bridges.removed, ['fntiso']);
    bridges.others.add('fntiso');
    await rejects(nets.start('iso'), 'NET_START_FAILED', /error creating bridge interface fntiso: File exists/);
    assert.equal(nets.info('iso').active, false);
  });

  it("bridgeOf() words libvirt's errors for a missing and an inactive network", async () => {
    await rejects(() => nets.bridgeOf('nope'), 'NET_NOT_FOUND', /^Network not found: no network with matching name 'nope'$/);
    nets.define(forward('vmnet', 'br1'));
    await rejects(() => nets.bridgeOf('vmnet'), 'NET_NOT_ACTIVE', /^Requested operation is not valid: network 'vmnet' is not active$/);
  });

  it('create() makes a transient network that goes with destroy(); undefine() of an active network makes it transient', async () => {
    await nets.create(isolated('tmp', 'fnttmp'));
    assert.deepEqual([nets.info('tmp').active, nets.info('tmp').persistent], [true, false]);
    await rejects(() => nets.autostart('tmp', true), 'OPERATION_INVALID', /cannot set autostart for transient network/);
    await rejects(nets.undefine('tmp'), 'OPERATION_INVALID', /network is not persistent/);
    await rejects(nets.create(isolated('tmp', 'fntother')), 'NET_EXISTS', /network 'tmp' already exists/);
    await nets.destroy('tmp');
    await rejects(async () => nets.info('tmp'), 'NET_NOT_FOUND', /no network with matching name 'tmp'/);

    nets.define(isolated('keep', 'fntkeep'));
    await nets.start('keep');
    nets.autostart('keep', true);
    await nets.undefine('keep');
    assert.deepEqual([nets.info('keep').active, nets.info('keep').persistent, nets.info('keep').autostart], [true, false, false]);
    await nets.destroy('keep');
    assert.deepEqual(nets.list({ all: true }), []);
  });

  it('a failed create() leaves nothing behind', async () => {
    bridges.others.add('fntbusy');
    await rejects(nets.create(isolated('tmp', 'fntbusy')), 'NET_START_FAILED', /File exists/);
    assert.deepEqual(nets.list({ all: true }), []);
  });

  it('list() shows active networks, --all every one, --inactive the others', async () => {
    nets.define(isolated('a', 'fnta'));
    nets.define(isolated('b', 'fntb'));
    await nets.start('b');
    assert.deepEqual(
      nets.list().map((n) => n.name),
      ['b'],
    );
    assert.deepEqual(
      nets.list({ all: true }).map((n) => n.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      nets.list({ inactive: true }).map((n) => n.name),
      ['a'],
    );
  });

  it('startAtBoot() starts autostart networks, recreates a created bridge that vanished, and drops a host bridge that did', async () => {
    nets.define(isolated('auto', 'fntauto'));
    nets.autostart('auto', true);
    nets.define(isolated('lost', 'fntlost'));
    await nets.start('lost');
    nets.define(forward('host', 'br9'));
    bridges.bridges.add('br9');
    await nets.start('host');
    nets.define(isolated('idle', 'fntidle'));
    // A host reboot: every bridge is gone.
    bridges.bridges.clear();
    bridges.created.length = 0;
    await nets.startAtBoot();
    assert.deepEqual(bridges.created.map((b) => b.name).sort(), ['fntauto', 'fntlost']);
    assert.deepEqual(
      nets.list().map((n) => n.name),
      ['auto', 'lost'],
    );
    assert.equal(nets.info('host').active, false);
    // Nothing changed since: a second ferryd start touches nothing.
    await nets.startAtBoot();
    assert.equal(bridges.created.length, 2);
  });
});
