import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliContext } from '../context.js';
import { buildProgram } from '../main.js';
import { whatToComplete } from './complete-line.js';

const program = await buildProgram(new CliContext({ out: () => undefined, err: () => undefined }));
const complete = (line: string): ReturnType<typeof whatToComplete> => whatToComplete(program, line.split(' '));

describe('whatToComplete (read from the command definitions)', () => {
  it('verbs by prefix, not the hidden ones; global options', () => {
    const r = complete('pool-d');
    assert.deepEqual(r.completion, { kind: 'words', words: ['pool-define-as', 'pool-define', 'pool-destroy', 'pool-dumpxml'] });
    assert.deepEqual(complete('comp').completion, { kind: 'words', words: [] });
    assert.deepEqual(complete('--con').completion, { kind: 'words', words: ['--connect'] });
    assert.deepEqual(complete('help mon').completion, { kind: 'words', words: ['monitor'] }, 'help takes verbs and group keywords');
    assert.deepEqual(complete('help vol-l').completion, { kind: 'words', words: ['vol-list'] });
  });

  it("a verb's options by prefix, leaving out those already given", () => {
    assert.deepEqual(complete('start --').completion, { kind: 'words', words: ['--domain', '--paused', '--force-boot', '--help'] });
    assert.deepEqual(complete('start --paused --').completion, { kind: 'words', words: ['--domain', '--force-boot', '--help'] });
  });

  it('objects from the argument and option names: domain, pool, network, volume (with --pool)', () => {
    assert.deepEqual(complete('start w').completion, { kind: 'objects', object: 'domain', prefix: 'w' });
    assert.deepEqual(complete('start --paused --domain ').completion, { kind: 'objects', object: 'domain', prefix: '' });
    assert.deepEqual(complete('pool-start ').completion, { kind: 'objects', object: 'pool', prefix: '' });
    assert.deepEqual(complete('net-info l').completion, { kind: 'objects', object: 'network', prefix: 'l' });
    assert.deepEqual(complete('vol-info --pool p1 ').completion, { kind: 'objects', object: 'vol', prefix: '', pool: 'p1' });
    assert.deepEqual(complete('domif-getlink vm1 ').completion, { kind: 'words', words: [] }, 'the second argument is an interface');
    assert.deepEqual(complete('define ').completion, { kind: 'words', words: [] }, 'a file: bash completes it');
  });

  it('-c/--connect on the line names the daemon to ask', () => {
    assert.equal(complete('-c ferry:///session start ').connect, 'ferry:///session');
    assert.equal(complete('--connect=qemu:///system -r list').connect, 'qemu:///system');
    assert.deepEqual(complete('-c ').completion, { kind: 'words', words: [] }, 'no verbs in place of the URI');
  });
});
