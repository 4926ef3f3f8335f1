import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { CliContext } from './context.js';
import { buildProgram } from './main.js';
import { VERB_MODULES, verbsNeeded } from './verb-modules.js';

const quiet = { out: () => undefined, err: () => undefined };

describe('VERB_MODULES (the CLI loads only the module of the verb typed)', () => {
  it('each module registers exactly the verbs it lists, and no verb is listed twice', async () => {
    for (const m of VERB_MODULES) {
      const program = new Command('ferry');
      (await m.load())(program, new CliContext(quiet));
      assert.deepEqual(program.commands.map((c) => c.name()).sort(), [...m.verbs].sort());
    }
    const all = VERB_MODULES.flatMap((m) => m.verbs);
    assert.equal(new Set(all).size, all.length);
  });

  it("buildProgram() with one verb registers only that verb's module", async () => {
    const program = await buildProgram(new CliContext(quiet), ['domstate']);
    assert.deepEqual(
      program.commands.map((c) => c.name()),
      ['dominfo', 'domstate', 'domid', 'domname', 'domuuid', 'domblklist', 'domiflist'],
    );
  });

  it('verbsNeeded() finds the verb after the global options', () => {
    assert.deepEqual(verbsNeeded(['list', '--all']), ['list']);
    assert.deepEqual(verbsNeeded(['-c', 'ferry:///session', '-q', 'start', 'vm1']), ['start']);
    assert.deepEqual(verbsNeeded(['--connect', 'list', 'dominfo', 'x']), ['dominfo'], 'the value of --connect is not the verb');
    assert.deepEqual(verbsNeeded(['--connect=ferry:///system', '-r', 'list']), ['list']);
    assert.deepEqual(verbsNeeded(['--version']), []);
  });

  it('verbsNeeded() wants every verb for help, completion, no verb and an unknown verb', () => {
    for (const args of [[], ['help'], ['help', 'list'], ['--help'], ['-q'], ['complete', '--', 'ferry', 'li'], ['lst'], ['-h', 'list']]) {
      assert.equal(verbsNeeded(args), 'all', args.join(' '));
    }
  });
});
