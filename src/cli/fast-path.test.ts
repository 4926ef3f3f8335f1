import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFastArgs, runFastPath } from './fast-path.js';

describe('parseFastArgs()', () => {
  it("takes list's flags after global options, and the GET they make", () => {
    const p = parseFastArgs(['-c', 'ferry:///system', '-r', '--quiet', 'list', '--all', '--state-running']);
    assert.deepEqual(p?.global, { connect: 'ferry:///system', readonly: true, quiet: true });
    assert.equal(p?.command.path, '/v1/domains?all=true');
    assert.equal(parseFastArgs(['--connect=qemu:///system', 'list', '--inactive'])?.command.path, '/v1/domains?inactive=true');
    assert.equal(parseFastArgs(['list'])?.command.path, '/v1/domains');
  });

  it('renders the reply as the list command does (names only here)', () => {
    const p = parseFastArgs(['list', '--name']);
    const reply = { domains: [{ name: 'a', uuid: 'u', state: 'running', domainId: 1, persistent: true }] };
    assert.equal(p?.command.render(reply, false), 'a\n\n');
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
      ['dominfo', 'x'],
    ]) {
      assert.equal(parseFastArgs(args), undefined, args.join(' '));
    }
  });

  it('FERRY_CLI_FAST_PATH=0 turns it off', async () => {
    assert.equal(await runFastPath(['list'], { FERRY_CLI_FAST_PATH: '0' }, () => assert.fail('printed')), undefined);
  });
});
