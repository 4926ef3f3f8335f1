import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { CliStream } from '../helpers/cli-stream.js';
import { lastSeq, parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { requestOverUnix } from '../helpers/http-unix.js';
import { eventually, pidsMatching, qemuPidsOf } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/** The base lifecycle with a real ferryd, the real CLI and real QEMU (TCG). */
describe('domain lifecycle on real QEMU', () => {
  const dir = tempDir('ferry-life-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const xmlFile = (name: string, xml: string): string => {
    const f = `${dir.path}/${name}.xml`;
    writeFileSync(f, xml);
    return f;
  };

  before(async () => {
    await host.start();
  });
  after(async () => {
    for (const name of ['vm1', 'stubborn', 'panicky', 'tmp1', 'nomachine']) await host.ferry('destroy', name);
    await host.stopAll();
    dir.cleanup();
  });

  it('define → start → list → suspend/resume (QMP agrees) → ACPI shutdown', async () => {
    const file = xmlFile('vm1', guestXml({ name: 'vm1', touchMiB: 16, dirtyMiBs: 2, hbMs: 100 }));
    assert.equal(await host.ok('define', file), `Domain 'vm1' defined from ${file}\n\n`);
    assert.match(await host.ok('list', '--all'), /^ Id   Name   State\n-+\n -    vm1    shut off\n\n$/);
    assert.equal(await host.ok('start', 'vm1'), "Domain 'vm1' started\n\n");
    assert.match(await host.ok('list'), / 1 +vm1 +running\n/);
    assert.equal(await host.state('vm1'), 'running (booted)');
    await waitHeartbeats(() => host.serialLog('vm1'), 3);

    assert.equal(await host.ok('suspend', 'vm1'), "Domain 'vm1' suspended\n\n");
    assert.equal(await host.state('vm1'), 'paused (user)');
    const seqWhilePaused = lastSeq(host.serialLog('vm1'));
    const paused = JSON.parse(await host.ok('qemu-monitor-command', 'vm1', '{"execute":"query-status"}'));
    assert.deepEqual([paused.return.status, paused.return.running], ['paused', false]);
    assert.equal(lastSeq(host.serialLog('vm1')), seqWhilePaused, 'no heartbeat while paused');

    assert.equal(await host.ok('resume', 'vm1'), "Domain 'vm1' resumed\n\n");
    assert.equal(await host.state('vm1'), 'running (unpaused)');
    const running = JSON.parse(await host.ok('qemu-monitor-command', 'vm1', '{"execute":"query-status"}'));
    assert.deepEqual([running.return.status, running.return.running], ['running', true]);
    await waitHeartbeats(() => host.serialLog('vm1'), 2, { afterSeq: seqWhilePaused });

    assert.equal(await host.ok('shutdown', 'vm1'), "Domain 'vm1' is being shutdown\n\n");
    assert.equal(await host.waitState('vm1', 'shut off (shutdown)', 20_000), 'shut off (shutdown)');
    assert.match(host.serialLog('vm1'), /power button, powering off/);
    assert.match(await host.ok('list', '--all'), / -    vm1    shut off/);
    assert.equal(await host.ok('list'), ' Id   Name   State\n--------------------\n\n');
  });

  it('shutdown --timeout destroys a guest that ignores the power button', async () => {
    await host.ok('define', xmlFile('stubborn', guestXml({ name: 'stubborn', extraCmdline: 'ferry.acpi=ignore' })));
    await host.ok('start', 'stubborn');
    await waitHeartbeats(() => host.serialLog('stubborn'), 1);
    // A malformed number is refused before anything is sent (it used to skip the wait and destroy at once).
    const qemu = (): number[] => pidsMatching(host.stateDir).filter((p) => pidsMatching('guest=stubborn,').includes(p));
    const pids = qemu();
    assert.equal(pids.length, 1);
    const bad = await host.ferry('shutdown', 'stubborn', '--timeout', '1m');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: Numeric value '1m' for <timeout> option is malformed or out of range\nhint: .*\[INVALID_ARGUMENT\]\n$/);
    assert.equal(await host.state('stubborn'), 'running (booted)');
    assert.deepEqual(qemu(), pids, 'the same QEMU still runs');
    const seen = parseHeartbeats(host.serialLog('stubborn')).at(-1)?.seq ?? -1;
    await waitHeartbeats(() => host.serialLog('stubborn'), 1, { afterSeq: seen });
    assert.doesNotMatch(host.serialLog('stubborn'), /power button/, 'the guest was not even asked to power off');
    const out = await host.ok('shutdown', 'stubborn', '--timeout', '3');
    assert.match(out, /did not shut down within 3 seconds: destroying it\nDomain 'stubborn' destroyed/);
    assert.match(host.serialLog('stubborn'), /power button ignored/);
    assert.equal(await host.state('stubborn'), 'shut off (destroyed)');
  });

  it('reboot powers the guest off and boots it again in the same QEMU', async () => {
    await host.ok('start', 'vm1');
    const id = (await host.ok('domid', 'vm1')).trim();
    const before = host.serialLog('vm1').length;
    await waitHeartbeats(() => host.serialLog('vm1').slice(before), 1);
    assert.equal(await host.ok('reboot', 'vm1'), "Domain 'vm1' is being rebooted\n\n");
    const after = () => host.serialLog('vm1').slice(before);
    await waitHeartbeats(() => after().split('powering off').slice(1).join(''), 1);
    assert.equal((await host.ok('domid', 'vm1')).trim(), id, 'same domain id: QEMU was not restarted');
    assert.equal(await host.state('vm1'), 'running (booted)');
  });

  it('a second start of a running domain is refused and leaves its one QEMU alone', async () => {
    const uuid = (await host.ok('domuuid', 'vm1')).trim();
    const qemu = qemuPidsOf(host.stateDir, uuid);
    assert.equal(qemu.length, 1, 'vm1 runs in one QEMU');
    const r = await host.ferry('start', 'vm1');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: Failed to start domain 'vm1'\nerror: Requested operation is not valid: domain is already running\nhint: .*\[DOMAIN_ALREADY_RUNNING\]/,
    );
    assert.deepEqual(qemuPidsOf(host.stateDir, uuid), qemu, 'no second QEMU, and the first one still runs');
    assert.equal(await host.state('vm1'), 'running (booted)');
  });

  it('the read-only socket itself, with a plain HTTP client (no read-only header): queries work, changes and the peer API are refused', async () => {
    const ro = host.socket.replace(/\.sock$/, '-ro.sock');
    const listed = await requestOverUnix(ro, 'GET', '/v1/domains?all=true');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.ok((listed.body as { domains: Array<{ name: string }> }).domains.some((d) => d.name === 'vm1'));
    const info = await requestOverUnix(ro, 'GET', '/v1/domains/vm1');
    assert.equal(info.status, 200, JSON.stringify(info.body));
    const refusals: Array<[string, string, string | undefined, RegExp]> = [
      ['POST', '/v1/domains/vm1/destroy', undefined, /^operation forbidden: read only access prevents virDomainDestroy$/],
      ['POST', '/v1/domains/vm1/suspend', undefined, /^operation forbidden: read only access prevents virDomainSuspend$/],
      ['POST', '/v1/domains', JSON.stringify({ xml: guestXml({ name: 'intruder' }) }), /^operation forbidden: read only access prevents virDomainDefineXML$/],
      ['DELETE', '/v1/domains/vm1', undefined, /^operation forbidden: read only access prevents virDomainUndefine$/],
      ['PUT', '/v1/domains/vm1/migration/speed', JSON.stringify({ bandwidth: 1 }), /^operation forbidden: read only access prevents PUT /],
      ['POST', '/v1/domains/vm1/qemu-monitor-command', JSON.stringify({ execute: 'stop' }), /^operation forbidden: read only access prevents POST /],
      ['GET', '/peer/v1/migrations/x', undefined, /^operation forbidden: the peer API is for ferry hosts/],
    ];
    for (const [method, path, body, message] of refusals) {
      const r = await requestOverUnix(ro, method, path, body === undefined ? {} : { body });
      const error = (r.body as { error?: { code: string; message: string } }).error;
      assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(error?.code, 'ACCESS_DENIED', `${method} ${path}`);
      assert.match(error?.message ?? '', message, `${method} ${path}`);
    }
    // Nothing of it happened: the VM runs on, defined as it was, and the refusals left no domain behind.
    assert.equal(await host.state('vm1'), 'running (booted)');
    assert.equal((await host.ferry('dominfo', 'intruder')).code, 1);
    assert.match(await host.ok('migrate-getspeed', 'vm1'), /^8796093022207\n/);
  });

  it('ferryd killed with SIGKILL and restarted: the VM keeps running and is reattached', async () => {
    const pid = (await host.api<{ domain: { id: number } }>('/v1/domains/vm1')).domain.id;
    const beforeKill = parseHeartbeats(host.serialLog('vm1')).at(-1)?.seq ?? 0;
    await host.kill('SIGKILL');
    await waitHeartbeats(() => host.serialLog('vm1'), 3, { afterSeq: beforeKill });
    await host.start();
    assert.match(await host.ok('list'), new RegExp(` ${pid} +vm1 +running`));
    assert.equal(await host.state('vm1'), 'running (booted)');
    assert.equal(await host.ok('suspend', 'vm1'), "Domain 'vm1' suspended\n\n", 'the reattached monitor works');
    await host.kill('SIGKILL');
    await host.start();
    assert.equal(await host.state('vm1'), 'paused (user)', 'state survives a second restart');
    await host.ok('resume', 'vm1');
    await host.ok('destroy', 'vm1');
    assert.equal(await host.state('vm1'), 'shut off (destroyed)');
  });

  it('a guest panic shows as crashed (panicked) and is announced as an event', async () => {
    await host.ok('define', xmlFile('panicky', guestXml({ name: 'panicky', extraCmdline: 'unknown_nmi_panic=1', onCrash: 'preserve' })));
    await host.ok('start', 'panicky');
    await waitHeartbeats(() => host.serialLog('panicky'), 1);
    const events = new CliStream(['event', '--domain', 'panicky', '--loop'], { FERRY_DEFAULT_URI: host.uri });
    try {
      // The stream listens once it shows a suspend and resume (repeated until it does: it may connect after the first).
      await eventually(async () => {
        if (/Resumed/.test(events.output())) return true;
        await host.ok('suspend', 'panicky');
        await host.ok('resume', 'panicky');
        return false;
      }, 'the event stream shows a suspend and resume');
      await host.ok('inject-nmi', 'panicky');
      assert.equal(await host.waitState('panicky', 'crashed (panicked)', 15_000), 'crashed (panicked)');
      await events.waitFor(/event 'lifecycle' for domain 'panicky': Crashed Panicked\n/, 'the panic event');
    } finally {
      await events.stop();
    }
    await host.ok('destroy', 'panicky');
  });

  it("a definition naming no machine type gets QEMU's default (i440FX) and its PCI root; it starts and undefines", async () => {
    await host.ok('define', xmlFile('nomachine', guestXml({ name: 'nomachine' }).replace(" machine='q35'", '')));
    const xml = await host.ok('dumpxml', 'nomachine');
    assert.match(xml, /<type arch='x86_64' machine='pc-i440fx-[\d.]+'>hvm<\/type>/);
    assert.match(xml, /<controller type='pci' index='0' model='pci-root'\/>/);
    assert.doesNotMatch(xml, /pcie-root/);
    assert.match(await host.ok('dominfo', 'nomachine'), /State: +shut off/);
    assert.equal(await host.ok('start', 'nomachine'), "Domain 'nomachine' started\n\n");
    await host.ok('destroy', 'nomachine');
    assert.equal(await host.ok('undefine', 'nomachine'), "Domain 'nomachine' has been undefined\n\n");
  });

  it('undefine of a running domain makes it transient; it disappears when destroyed', async () => {
    await host.ok('create', xmlFile('tmp1', guestXml({ name: 'tmp1' })));
    assert.match(await host.ok('dominfo', 'tmp1'), /Persistent: +no/);
    await host.ok(
      'define',
      xmlFile(
        'tmp1-def',
        guestXml({ name: 'tmp1' }).replace('<name>tmp1</name>', `<name>tmp1</name><uuid>${(await host.ok('domuuid', 'tmp1')).trim()}</uuid>`),
      ),
    );
    assert.match(await host.ok('dominfo', 'tmp1'), /Persistent: +yes/);
    assert.equal(await host.ok('undefine', 'tmp1'), "Domain 'tmp1' has been undefined\n\n");
    assert.match(await host.ok('dominfo', 'tmp1'), /State: +running\n[\s\S]*Persistent: +no/);
    await host.ok('destroy', 'tmp1');
    const gone = await host.ferry('dominfo', 'tmp1');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: failed to get domain 'tmp1'\n/);
  });
});
