import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliContext } from './context.js';
import type { Output } from './format.js';
import { buildProgram, runCli } from './main.js';

function capture(): Output & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

describe('ferry CLI', () => {
  it('buildProgram() registers every verb, each with its own --help', async () => {
    const out = capture();
    const program = await buildProgram(new CliContext(out));
    const verbs = program.commands.map((c) => c.name());
    for (const v of [
      'define',
      'undefine',
      'start',
      'shutdown',
      'destroy',
      'reboot',
      'suspend',
      'resume',
      'list',
      'dominfo',
      'domstate',
      'dumpxml',
      'nodeinfo',
      'version',
      'disk-edit',
      'migrate',
      'domjobinfo',
      'domjobabort',
      'migrate-setmaxdowntime',
      'migrate-getmaxdowntime',
      'migrate-setspeed',
      'migrate-getspeed',
      'migrate-postcopy',
      'pool-define-as',
      'pool-define',
      'pool-start',
      'pool-destroy',
      'pool-undefine',
      'pool-autostart',
      'pool-list',
      'pool-info',
      'pool-refresh',
      'pool-build',
      'vol-list',
      'vol-create-as',
      'vol-delete',
      'vol-info',
      'vol-path',
      'blockcopy',
      'blockjob',
      'attach-disk',
      'detach-disk',
      'change-media',
    ]) {
      assert.ok(verbs.includes(v), `missing verb ${v}`);
    }
    for (const v of verbs) {
      const o = capture();
      assert.equal(await runCli(['node', 'ferry', v, '--help'], o, {}), 0, v);
      assert.match(o.stdout, new RegExp(`^Usage: ferry ${v}`), v);
    }
  });

  it('an unknown verb or option fails with exit status 1 and an error line', async () => {
    const o = capture();
    assert.equal(await runCli(['node', 'ferry', 'frobnicate'], o, {}), 1);
    assert.match(o.stderr, /^error: unknown command: 'frobnicate'/, "virsh's wording");
    const o2 = capture();
    assert.equal(await runCli(['node', 'ferry', 'list', '--bogus'], o2, {}), 1);
    assert.match(o2.stderr, /error: unknown option '--bogus'/);
  });

  it("a command against a missing daemon says so in virsh's words", async () => {
    const o = capture();
    assert.equal(await runCli(['node', 'ferry', '-c', 'ferry:///system?socket=/nonexistent.sock', 'list'], o, {}), 1);
    assert.match(o.stderr, /^error: failed to connect to the hypervisor\nerror: Failed to connect socket to '\/nonexistent.sock': No such file or directory\n/);
  });

  it("bad option values are the caller's error with a code, never INTERNAL_ERROR (shutdown --mode)", async () => {
    const unknown = capture();
    assert.equal(await runCli(['node', 'ferry', '-c', 'ferry:///system?socket=/nonexistent.sock', 'shutdown', 'vm1', '--mode', 'bogus'], unknown, {}), 1);
    assert.equal(unknown.stderr.split('\n')[0], "error: Unknown mode bogus value, expecting 'acpi', 'agent', 'initctl', 'signal' or 'paravirt'");
    assert.match(unknown.stderr, /\[INVALID_ARGUMENT\]\n$/);
    const initctl = capture();
    assert.equal(await runCli(['node', 'ferry', '-c', 'ferry:///system?socket=/nonexistent.sock', 'shutdown', 'vm1', '--mode', 'initctl'], initctl, {}), 1);
    assert.match(initctl.stderr, /^error: shutdown mode 'initctl' is not supported by ferry\nhint: .*\[NOT_SUPPORTED\]\n$/);
  });
});
