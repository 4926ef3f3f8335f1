import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Argument, Command, Option } from 'commander';
import { tempDir } from '../../test/helpers/tmp.js';
import { CliContext } from './context.js';
import type { Output } from './format.js';
import { buildProgram, runCli } from './main.js';
import { LIMITS, type NumericSpec, numericSpecOf } from './numeric.js';

/** Every numeric option and argument of every verb, with the range it takes: the table the test holds the CLI to. */
const TABLE: Array<{ verb: string; flag: string; min: number; max: number; size?: true }> = [
  { verb: 'shutdown', flag: '--timeout', min: 1, max: LIMITS.seconds },
  { verb: 'event', flag: '--timeout', min: 1, max: LIMITS.seconds },
  { verb: 'migrate', flag: '--timeout', min: 1, max: LIMITS.seconds },
  { verb: 'migrate', flag: '--bandwidth', min: 0, max: LIMITS.mibPerSecond },
  { verb: 'migrate', flag: '--postcopy-bandwidth', min: 0, max: LIMITS.mibPerSecond },
  { verb: 'migrate', flag: '--parallel-connections', min: 1, max: 255 },
  { verb: 'migrate', flag: '--auto-converge-initial', min: 1, max: 99 },
  { verb: 'migrate', flag: '--auto-converge-increment', min: 1, max: 99 },
  { verb: 'migrate', flag: '--dirty-rate-window', min: 0, max: 60_000 },
  { verb: 'migrate-check', flag: '--bandwidth', min: 0, max: LIMITS.mibPerSecond },
  { verb: 'migrate-check', flag: '--timeout', min: 1, max: LIMITS.seconds },
  { verb: 'migrate-check', flag: '--dirty-rate-window', min: 0, max: 60_000 },
  { verb: 'migrate', flag: '--max-downtime', min: 1, max: LIMITS.downtimeMs },
  { verb: 'migrate', flag: '--deadline', min: 1, max: LIMITS.seconds },
  { verb: 'migrate-check', flag: '--max-downtime', min: 1, max: LIMITS.downtimeMs },
  { verb: 'migrate-check', flag: '--deadline', min: 1, max: LIMITS.seconds },
  { verb: 'migrate-setmaxdowntime', flag: '--downtime', min: 1, max: LIMITS.downtimeMs },
  { verb: 'migrate-setmaxdowntime', flag: '<downtime>', min: 1, max: LIMITS.downtimeMs },
  { verb: 'migrate-setspeed', flag: '--bandwidth', min: 0, max: LIMITS.mibPerSecond },
  { verb: 'migrate-setspeed', flag: '<bandwidth>', min: 0, max: LIMITS.mibPerSecond },
  { verb: 'blockcopy', flag: '--bandwidth', min: 0, max: Math.floor(Number.MAX_SAFE_INTEGER / 1048576) },
  { verb: 'vol-create-as', flag: '<capacity>', min: 1, max: Number.MAX_SAFE_INTEGER, size: true },
  { verb: 'vol-create-as', flag: '--allocation', min: 0, max: Number.MAX_SAFE_INTEGER, size: true },
  { verb: 'audit', flag: '--limit', min: 1, max: 1_000_000 },
  { verb: 'migrate-history', flag: '--limit', min: 1, max: 1_000_000 },
  { verb: 'cert-ca-create', flag: '--days', min: 1, max: 36500 },
  { verb: 'cert-host-create', flag: '--days', min: 1, max: 36500 },
  { verb: 'cert-client-create', flag: '--days', min: 1, max: 36500 },
  { verb: 'setvcpus', flag: '<count>', min: 1, max: 16384 },
  { verb: 'setvcpus', flag: '--count', min: 1, max: 16384 },
  { verb: 'vcpupin', flag: '<vcpu>', min: 0, max: 16383 },
  { verb: 'vcpupin', flag: '--vcpu', min: 0, max: 16383 },
  { verb: 'dommemstat', flag: '--period', min: 0, max: LIMITS.seconds },
  { verb: 'setmem', flag: '<size>', min: 1, max: Number.MAX_SAFE_INTEGER, size: true },
  { verb: 'qemu-agent-command', flag: '--timeout', min: 1, max: LIMITS.seconds },
  { verb: 'domtime', flag: '--time', min: 0, max: Number.MAX_SAFE_INTEGER },
  { verb: 'blkiotune', flag: '--weight', min: 0, max: 4294967295 },
];

/** Value placeholders that name a number: an option with one of these must parse it as a number. */
const NUMERIC_PLACEHOLDER = /^<(seconds|ms|n|N|MiB\/s|percent|size|bytes|count|days|port|number)>$/;
const NUMERIC_ARGUMENTS = new Set(['downtime', 'bandwidth', 'capacity', 'timeout', 'size']);

interface Found {
  verb: string;
  flag: string;
  spec: NumericSpec | undefined;
  cmd: Command;
  arg?: Argument;
  option?: Option;
}

function walk(program: Command): Found[] {
  const out: Found[] = [];
  for (const cmd of program.commands) {
    for (const option of cmd.options as Option[]) {
      if (!option.required && !option.optional) continue;
      const placeholder = option.flags.split(/\s+/).pop() ?? '';
      const spec = numericSpecOf(option.parseArg);
      if (spec || NUMERIC_PLACEHOLDER.test(placeholder)) out.push({ verb: cmd.name(), flag: option.long as string, spec, cmd, option });
    }
    for (const arg of cmd.registeredArguments) {
      const spec = numericSpecOf(arg.parseArg);
      if (spec || NUMERIC_ARGUMENTS.has(arg.name())) out.push({ verb: cmd.name(), flag: `<${arg.name()}>`, spec, cmd, arg });
    }
  }
  return out;
}

/** The command line that puts `value` where `f` reads it, with the verb's required arguments filled in. */
function argv(f: Found, value: string): string[] {
  const positional: string[] = [];
  for (const a of f.cmd.registeredArguments) {
    if (a === f.arg) {
      positional.push(value);
      break;
    }
    if (!a.required && !['domain', 'desturi', 'pool', 'name', 'path', 'dest'].includes(a.name())) break;
    const spec = numericSpecOf(a.parseArg);
    positional.push(spec ? (spec.size ? '10M' : String(Math.max(spec.min, 1))) : a.name() === 'desturi' ? 'ferry+tcp://127.0.0.1:1/system' : `x-${a.name()}`);
  }
  return ['node', 'ferry', f.verb, ...positional, ...(f.option ? [f.flag, value] : [])];
}

function capture(): Output & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

const program = await buildProgram(new CliContext(capture()));

/** Every numeric option of every verb is checked as the command line is read: a bad value stops the command before anything is sent. */
describe('numeric options', () => {
  const dir = tempDir('ferry-num-');
  const socket = `${dir.path}/ferryd.sock`;
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  const env = { FERRY_DEFAULT_URI: `ferry:///system?socket=${socket}`, HOME: dir.path };
  const found = walk(program);

  before(() => new Promise<void>((resolve) => server.listen(socket, resolve)));
  after(() => {
    server.close();
    dir.cleanup();
  });

  it('the table names exactly the numeric options the verbs have, each parsed as a number with its range', () => {
    assert.deepEqual(found.map((f) => `${f.verb} ${f.flag}`).sort(), TABLE.map((t) => `${t.verb} ${t.flag}`).sort());
    for (const t of TABLE) {
      const f = found.find((x) => x.verb === t.verb && x.flag === t.flag);
      assert.ok(f?.spec, `${t.verb} ${t.flag} is not parsed by numeric()`);
      assert.deepEqual([f.spec.min, f.spec.max, f.spec.size ?? false], [t.min, t.max, t.size ?? false], `${t.verb} ${t.flag}`);
    }
  });

  it("a malformed or out-of-range value is refused in virsh's words, and nothing reaches the daemon", async () => {
    for (const f of found) {
      const spec = f.spec as NumericSpec;
      const bad = spec.size
        ? ['1x', 'abc', '-1', '', '1.5.5', '99999999999P']
        : ['1m', 'abc', '1.5', '1e3', '0x10', '', ' ', 'Infinity', '-', String(spec.max + 1)];
      if (spec.min > 0 && !spec.belowMin) bad.push(String(spec.min - 1));
      if (spec.min === 0) bad.push('-1');
      for (const value of bad) {
        const out = capture();
        const code = await runCli(argv(f, value), out, env);
        assert.equal(code, 1, `${f.verb} ${f.flag} ${JSON.stringify(value)}`);
        assert.ok(
          out.stderr.startsWith(`error: Numeric value '${value}' for <${spec.name}> option is malformed or out of range\nhint: `),
          `${f.verb} ${f.flag} ${JSON.stringify(value)}: ${out.stderr}`,
        );
        assert.match(out.stderr, /\[INVALID_ARGUMENT\]\n$/);
      }
      if (spec.belowMin) {
        const out = capture();
        assert.equal(await runCli(argv(f, String(spec.min - 1)), out, env), 1);
        assert.ok(out.stderr.startsWith(`error: ${spec.belowMin}\n`), out.stderr);
      }
    }
    assert.equal(connections, 0, 'no command with a bad number connected to ferryd');
  });

  it('a good value passes (the probe above is sound): the commands that talk to ferryd get as far as connecting', async () => {
    for (const f of found.filter((x) => !x.verb.startsWith('cert-'))) {
      const spec = f.spec as NumericSpec;
      const before = connections;
      const out = capture();
      const line = argv(f, spec.size ? '10M' : String(Math.max(spec.min, 1)));
      if (f.verb === 'migrate') line.splice(3, 0, '--live', '--parallel');
      await runCli(line, out, env);
      assert.doesNotMatch(out.stderr, /Numeric value/, `${line.join(' ')}: ${out.stderr}`);
      assert.ok(connections > before, `${line.join(' ')} did not reach the daemon: ${out.stderr}`);
    }
  });
});
