import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliContext } from '../context.js';
import type { Output } from '../format.js';
import { buildProgram, runCli } from '../main.js';
import { groupOf, VERB_GROUPS } from './verb-groups.js';

function capture(): Output & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

const program = await buildProgram(new CliContext(capture()));
const visibleVerbs = (): string[] => program.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden).map((c) => c.name());

describe('ferry help groups', () => {
  it('every registered verb has exactly one group (add a new verb to src/cli/help/verb-groups.ts)', () => {
    for (const v of visibleVerbs()) assert.ok(groupOf(v), `verb '${v}' has no group in VERB_GROUPS`);
    const all = VERB_GROUPS.flatMap((g) => g.verbs);
    assert.equal(new Set(all).size, all.length, 'a verb is in two groups');
    assert.equal(new Set(VERB_GROUPS.map((g) => g.keyword)).size, VERB_GROUPS.length, 'two groups share a keyword');
  });

  it("`ferry help` prints every group in virsh's layout, and every visible verb once", async () => {
    const o = capture();
    assert.equal(await runCli(['node', 'ferry', 'help'], o, {}), 0);
    assert.match(o.stdout, /^Grouped commands:\n\n Domain Management \(help keyword 'domain'\):\n {4}attach-disk {20}attach a disk/);
    assert.match(o.stdout, /\n Storage Pool \(help keyword 'pool'\):\n {4}pool-autostart +start a pool/);
    for (const v of visibleVerbs()) assert.match(o.stdout, new RegExp(`\\n {4}${v} +\\S`), v);
    assert.doesNotMatch(o.stdout, /\n {4}complete /, 'the hidden completion verb is not listed');
  });

  it("`ferry help monitor` prints one group; `ferry help start` the verb's help; an unknown word fails with virsh's words", async () => {
    const o = capture();
    assert.equal(await runCli(['node', 'ferry', 'help', 'monitor'], o, {}), 0);
    assert.match(o.stdout, /^ Domain Monitoring \(help keyword 'monitor'\):\n/);
    assert.match(o.stdout, /\n {4}domstate +domain state\n/);
    assert.doesNotMatch(o.stdout, /Domain Management|pool-list/);
    const o2 = capture();
    assert.equal(await runCli(['node', 'ferry', 'help', 'start'], o2, {}), 0);
    assert.match(o2.stdout, /^Usage: ferry start \[options\] \[domain\]/);
    const o3 = capture();
    assert.equal(await runCli(['node', 'ferry', 'help', 'frobnicate'], o3, {}), 1);
    assert.match(o3.stderr, /^error: command or command group 'frobnicate' doesn't exist\nhint: .*\[INVALID_ARGUMENT\]/);
  });
});
