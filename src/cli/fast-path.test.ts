import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFastArgs, runFastPath } from './fast-path.js';

describe('parseFastArgs()', () => {
  it("takes list's flags after global options, and the GET they make", () => {
    const p = parseFastArgs(['-c', 'ferry:///system', '-r', '--quiet', 'list', '--all', '--state-running']);
    assert.deepEqual(p?.global, { connect: 'ferry:///system', readonly: true, quiet: true });
    assert.equal(p?.request.path, '/v1/domains?all=true');
    assert.equal(parseFastArgs(['--connect=qemu:///system', 'list', '--inactive'])?.request.path, '/v1/domains?inactive=true');
    assert.equal(parseFastArgs(['list'])?.request.path, '/v1/domains');
  });

  it('renders the reply as the list command does (names only here)', () => {
    const p = parseFastArgs(['list', '--name']);
    const reply = { domains: [{ name: 'a', uuid: 'u', state: 'running', domainId: 1, persistent: true }] };
    assert.equal(p?.request.render(reply, false), 'a\n\n');
  });

  it('takes a domain verb with one domain, positional or --domain, and its flags in any order', () => {
    assert.equal(parseFastArgs(['domstate', 'vm 1', '--reason'])?.request.path, '/v1/domains/vm%201/state');
    assert.equal(parseFastArgs(['domstate', '--reason', '--domain', 'vm1'])?.request.path, '/v1/domains/vm1/state');
    assert.equal(parseFastArgs(['-r', 'dominfo', 'vm1'])?.request.path, '/v1/domains/vm1');
    assert.equal(parseFastArgs(['domuuid', '7'])?.request.path, '/v1/domains/7');
    const state = parseFastArgs(['domstate', 'vm1', '--reason']);
    assert.equal(state?.request.render({ state: 'shutoff', reason: 'destroyed' }, false), 'shut off (destroyed)\n\n');
  });

  it('leaves everything else to the full CLI', () => {
    for (const args of [
      [],
      ['--version'],
      ['list', '--help'],
      ['list', '-a'],
      ['list', '--al'],
      ['list', 'x'],
      ['list', '--'],
      ['list', '-q'],
      ['-c'],
      ['-c', '--all', 'list'],
      ['--connect=', 'list'],
      ['-v', 'list'],
      ['dominfo'],
      ['dominfo', 'x', 'y'],
      ['dominfo', 'x', '--domain', 'y'],
      ['dominfo', '--domain'],
      ['dominfo', '--domain', '--reason'],
      ['dominfo', 'x', '--reason'],
      ['domstate', '-x'],
      ['domblklist', 'x'],
      ['list', 'x', '--domain', 'y'],
    ]) {
      assert.equal(parseFastArgs(args), undefined, args.join(' '));
    }
  });

  it('FERRY_CLI_FAST_PATH=0 turns it off', async () => {
    assert.equal(await runFastPath(['list'], { FERRY_CLI_FAST_PATH: '0' }, () => assert.fail('printed')), undefined);
  });
});
