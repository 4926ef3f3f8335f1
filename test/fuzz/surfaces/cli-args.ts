import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runCli } from '../../../src/cli/main.js';
import { VERB_MODULES } from '../../../src/cli/verb-modules.js';
import { assertStateUnchanged } from '../invariants.js';
import type { Surface } from '../surface.js';
import type { FuzzTarget } from '../target.js';
import { edgeValue } from '../xml-mutation.js';
import { ensureBaseline } from '../baseline.js';

/**
 * Verbs left out: event and console wait for the operator by design; the cert-* verbs write key files
 * where their arguments say, on this host, without ferryd.
 */
const LEFT_OUT = new Set(['event', 'console', 'cert-ca-create', 'cert-host-create', 'cert-client-create']);

/** Options the verbs take (virsh's), as generated arguments; values come from the generic tokens. */
const OPTIONS = [
  '--all',
  '--inactive',
  '--name',
  '--uuid',
  '--table',
  '--details',
  '--config',
  '--live',
  '--current',
  '--persistent',
  '--force',
  '--paused',
  '--nvram',
  '--keep-nvram',
  '--remove-all-storage',
  '--security-info',
  '--mode',
  '--timeout',
  '--type',
  '--target',
  '--source',
  '--file',
  '--domain',
  '--pool',
  '--vol',
  '--network',
  '--bandwidth',
  '--period',
  '--count',
  '--maximum',
  '--guest',
  '--cpulist',
  '--weight',
  '--limit',
  '--since',
  '--until',
  '--json',
  '--pretty',
  '--hmp',
  '--verbose',
  '--wait',
  '--async',
  '--abort',
  '--postcopy',
  '--p2p',
  '--tunnelled',
  '--unsafe',
  '--help',
  '-h',
  '--',
  '-q',
  '-r',
  '--readonly',
  '--quiet',
  '--version',
  '-v',
];

/** What an argument may be: an option, a number at an edge, a value, a path that does not exist, garbage. */
const token: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...OPTIONS) },
  { weight: 1, arbitrary: fc.constantFrom(...OPTIONS).map((o) => `${o}=`) },
  { weight: 4, arbitrary: edgeValue.filter((v) => v !== '-') },
  { weight: 1, arbitrary: fc.constantFrom('/nonexistent/file.xml', '/etc', '/proc/self/status', 'qemu:///system', 'ferry:///system?socket=/nonexistent') },
);

export interface CliInput {
  argv: string[];
}

/**
 * The CLI's arguments, run in-process through its own entry (runCli, as bin/ferry runs it) against the real
 * ferryd: it answers 0 or 1, never throws, never reports INTERNAL_ERROR; a failed command changes nothing.
 */
export function cliSurface(target: FuzzTarget, expected: { state: string }): Surface<CliInput> {
  const verbs = VERB_MODULES.flatMap((m) => m.verbs).filter((v) => !LEFT_OUT.has(v));
  const env = { ...process.env, FERRY_DEFAULT_URI: target.host.uri, EDITOR: 'false', VISUAL: 'false' };
  return {
    name: 'cli-args',
    arbitrary: fc
      .record({ verb: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...verbs) }, { weight: 1, arbitrary: token }), args: fc.array(token, { maxLength: 5 }) })
      .map(({ verb, args }) => ({ argv: [verb, ...args] })),
    describe: (input) => `ferry ${input.argv.map((a) => JSON.stringify(a)).join(' ')}`,
    async check(input) {
      let out = '';
      let err = '';
      const status = await Promise.race([
        runCli(['node', 'ferry', ...input.argv], { out: (t) => void (out += t), err: (t) => void (err += t) }, env),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the CLI did not finish within 30 s (a hang)')), 30_000).unref()),
      ]);
      assert.ok(status === 0 || status === 1, `exit status ${status}`);
      assert.ok(!/INTERNAL_ERROR/.test(err + out), `the CLI reported INTERNAL_ERROR:\n${err}${out}`);
      if (status === 1) {
        await assertStateUnchanged(target, expected.state, 'a failed command');
        return { refused: /\[([A-Z_]+)\]\n?$/.exec(err)?.[1] ?? 'exit 1' };
      }
      await ensureBaseline(target);
      expected.state = await target.snapshot();
      return 'accepted';
    },
  };
}
