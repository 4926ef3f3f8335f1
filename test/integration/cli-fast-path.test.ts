import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runFastPath } from '../../src/cli/fast-path.js';
import { FerrydHost, runFerry } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The CLI's fast path (src/cli/fast-path.ts) against a real ferryd with a
 * running, a shut-off and a transient domain: for every form of `list`,
 * `dominfo`, `domstate`, `domid`, `domname` and `domuuid` it takes,
 * it prints byte for byte what the full CLI (commander, FERRY_CLI_FAST_PATH=0)
 * prints; every other command line, a dead socket or a remote URI it leaves to
 * the full CLI without printing anything, and `ferry` then says what the full
 * CLI says.
 */
describe('the CLI fast path: the same output as the full CLI, or the full CLI', () => {
  const dir = tempDir('ferry-fast-');
  const host = new FerrydHost({ dir: join(dir.path, 'a') });
  const env = (): Record<string, string> => ({ FERRY_DEFAULT_URI: host.uri });

  before(async () => {
    await host.start();
    for (const name of ['vm-running', 'vm-off']) {
      writeFileSync(join(dir.path, `${name}.xml`), guestXml({ name, memoryMiB: 64, touchMiB: 4, hbMs: 1000, type: 'qemu' }));
      await host.ok('define', join(dir.path, `${name}.xml`));
    }
    writeFileSync(join(dir.path, 'vm-transient.xml'), guestXml({ name: 'vm-transient', memoryMiB: 64, touchMiB: 4, hbMs: 1000, type: 'qemu' }));
    await host.ok('start', 'vm-running');
    await host.ok('create', join(dir.path, 'vm-transient.xml'));
  });

  after(async () => {
    await host.ferry('destroy', 'vm-running');
    await host.ferry('destroy', 'vm-transient');
    await host.stopAll();
    dir.cleanup();
  });

  const taken: string[][] = [
    ['list'],
    ['list', '--all'],
    ['list', '--all', '--name'],
    ['list', '--all', '--uuid'],
    ['list', '--all', '--name', '--uuid'],
    ['list', '--inactive'],
    ['list', '--all', '--persistent'],
    ['list', '--transient'],
    ['list', '--state-running', '--state-shutoff'],
    ['list', '--state-paused'],
    ['list', '--all', '--with-managed-save'],
    ['list', '--all', '--without-managed-save', '--managed-save', '--table'],
    ['-q', 'list', '--all'],
    ['--quiet', '--readonly', 'list', '--all'],
    ['-r', 'list'],
    // dominfo of a running domain is left out of the comparison: its CPU time moves between two calls.
    ['dominfo', 'vm-off'],
    ['-r', 'dominfo', '--domain', 'vm-off'],
    ['domstate', 'vm-running'],
    ['domstate', '--reason', 'vm-off'],
    ['domstate', '--domain', 'vm-transient', '--reason'],
    ['domid', 'vm-running'],
    ['domid', 'vm-off'],
    ['domuuid', 'vm-transient'],
    ['domname', 'vm-off'],
  ];

  for (const args of taken) {
    it(`ferry ${args.join(' ')}: the fast path prints what the full CLI prints`, async () => {
      let printed = '';
      const code = await runFastPath(args, { ...process.env, ...env() }, (t) => (printed += t));
      assert.equal(code, 0, 'the fast path took it');
      const full = await runFerry(args, { ...env(), FERRY_CLI_FAST_PATH: '0' });
      assert.equal(full.code, 0, full.stderr);
      assert.equal(printed, full.stdout);
      const cli = await runFerry(args, env());
      assert.deepEqual(cli, full, 'bin/ferry (fast path) and the full CLI: same stdout, stderr and status');
    });
  }

  it('the fast path really lists: the running domain with its id, the others as shut off, names and uuids', async () => {
    let printed = '';
    await runFastPath(['list', '--all'], { ...process.env, ...env() }, (t) => (printed += t));
    assert.match(printed, /^ \d+\s+vm-running\s+running$/m);
    assert.match(printed, /^ \d+\s+vm-transient\s+running$/m);
    assert.match(printed, /^ -\s+vm-off\s+shut off$/m);
    let names = '';
    await runFastPath(['list', '--inactive', '--name'], { ...process.env, ...env() }, (t) => (names += t));
    assert.equal(names, 'vm-off\n\n');
    let info = '';
    await runFastPath(['dominfo', 'vm-running'], { ...process.env, ...env() }, (t) => (info += t));
    assert.match(info, /^Name:\s+vm-running$/m);
    assert.match(info, /^State:\s+running$/m);
    let uuid = '';
    await runFastPath(['domuuid', 'vm-off'], { ...process.env, ...env() }, (t) => (uuid += t));
    let byUuid = '';
    await runFastPath(['domname', uuid.trim()], { ...process.env, ...env() }, (t) => (byUuid += t));
    assert.equal(byUuid, 'vm-off\n\n', 'domname by uuid');
  });

  const left: Array<{ args: string[]; env?: Record<string, string>; why: string }> = [
    { args: ['list', '--bogus'], why: 'an unknown option' },
    { args: ['list', '--al'], why: 'an abbreviation' },
    { args: ['list', '--all', '--help'], why: '--help' },
    { args: ['list', 'extra'], why: 'a positional argument' },
    { args: ['list', '--', '--all'], why: '--' },
    { args: ['list', '-r'], why: 'a global option after the verb' },
    { args: ['domblklist', 'vm-off'], why: 'another verb' },
    { args: ['dominfo', 'no-such-domain'], why: 'an error reply (no such domain)' },
    { args: ['domstate'], why: 'no domain' },
    { args: ['dominfo', 'vm-off', '--reason'], why: "a flag of another verb's" },
    { args: ['domid', 'vm-off', 'vm-running'], why: 'two domains' },
    { args: ['--version'], why: 'no verb' },
    { args: ['-c', 'ferry:///system?socket=/nonexistent/ferryd.sock', 'list'], why: 'a socket nobody listens on' },
    { args: ['-c', 'ferry+tls://192.0.2.1/system', 'list'], why: 'a remote URI' },
    { args: ['-c', 'bogus://x', 'list'], why: 'an invalid URI' },
    { args: ['list', '--all'], env: { FERRY_CLI_FAST_PATH: '0' }, why: 'FERRY_CLI_FAST_PATH=0' },
  ];

  for (const c of left) {
    it(`ferry ${c.args.join(' ')}: left to the full CLI (${c.why}), nothing printed, then the full CLI's output`, async () => {
      let printed = '';
      const code = await runFastPath(c.args, { ...process.env, ...env(), ...(c.env ?? {}) }, (t) => (printed += t));
      assert.equal(code, undefined);
      assert.equal(printed, '');
      if (c.args.includes('ferry+tls://192.0.2.1/system')) return; // not dialled: an address outside the test's own
      const cli = await runFerry(c.args, { ...env(), ...(c.env ?? {}) });
      const full = await runFerry(c.args, { ...env(), FERRY_CLI_FAST_PATH: '0' });
      assert.deepEqual(cli, full);
    });
  }

  it('a failure is reported once, in the full CLI words: the fast path printed nothing before it', async () => {
    const r = await runFerry(['-c', 'ferry:///system?socket=/nonexistent/ferryd.sock', 'list']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.match(/^error: failed to connect to the hypervisor$/gm)?.length, 1, r.stderr);
  });
});
