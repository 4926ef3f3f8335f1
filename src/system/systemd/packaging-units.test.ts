import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const GUESTS = join(ROOT, 'packaging/libexec/ferry-guests');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

test('systemd-analyze verify accepts every unit in packaging/systemd', { skip: hasAnalyze ? false : 'systemd-analyze is not installed' }, () => {
  const out = execFileSync('bash', [join(ROOT, 'scripts/verify-units.sh')], { encoding: 'utf8' });
  assert.match(out, /units OK/);
});

test("the units keep VMs out of ferryd's fate and order the shutdown policy before the scopes", () => {
  const unit = (n: string): string => readFileSync(join(ROOT, 'packaging/systemd', n), 'utf8');
  const ferryd = unit('ferryd.service');
  assert.match(ferryd, /^Type=notify$/m);
  assert.match(ferryd, /^KillMode=mixed$/m);
  const guests = unit('ferry-guests.service');
  // Stop order is the reverse of start order: After= ferryd and the target means it stops before both.
  assert.match(guests, /^After=.*\bferryd\.service\b.*\bferry-guest-shutdown\.target\b/m);
  assert.match(guests, /^Requires=ferry-guest-shutdown\.target$/m);
  assert.match(guests, /^ExecStop=\/usr\/libexec\/ferry\/ferry-guests stop$/m);
  assert.match(unit('ferry-lockd.socket'), /^ListenStream=\/run\/ferry\/ferry-lockd\.sock$/m);
});

/**
 * The policy script against a stand-in `ferry` (a shell script keeping each domain's state in files):
 * the script's own logic, not ferry's. The real run is the rig helper's poweroff of a container.
 */
function fakeFerry(dir: string, domains: Record<string, string>, stubborn: string[] = [], noSave = false): string {
  for (const [d, s] of Object.entries(domains)) writeFileSync(join(dir, `dom-${d}`), s);
  const bin = join(dir, 'ferry');
  writeFileSync(
    bin,
    `#!/bin/bash
d=${JSON.stringify(dir)}
echo "$*" >> "$d/calls"
[ "$1" = -c ] && shift 2
case "$1" in
  list) for f in "$d"/dom-*; do [ "$(cat "$f")" = running ] && echo "\${f##*/dom-}"; done; exit 0 ;;
  domstate) cat "$d/dom-$2"; exit 0 ;;
  shutdown) case " ${stubborn.join(' ')} " in *" $2 "*) ;; *) echo "shut off" > "$d/dom-$2" ;; esac; exit 0 ;;
  managedsave) ${noSave ? 'echo "unknown command" >&2; exit 1' : 'echo "shut off" > "$d/dom-$2"; exit 0'} ;;
  start) echo running > "$d/dom-$2"; exit 0 ;;
esac
exit 1
`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

function run(dir: string, verb: string, conf: string): { out: string; calls: string[] } {
  writeFileSync(join(dir, 'conf'), conf);
  const out = execFileSync('bash', [GUESTS, verb], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      FERRY_CLI: join(dir, 'ferry'),
      FERRY_GUESTS_CONF: join(dir, 'conf'),
      FERRY_GUESTS_STATE: join(dir, 'state'),
    },
  });
  const calls = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean) : [];
  rmSync(join(dir, 'calls'), { force: true });
  return { out, calls };
}

test('ferry-guests: ON_SHUTDOWN=shutdown shuts the running guests down, records them, ON_BOOT=start starts them again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-guests-'));
  try {
    fakeFerry(dir, { a: 'running', b: 'running', c: 'shut off' });
    const stop = run(dir, 'stop', 'ON_SHUTDOWN=shutdown\nSHUTDOWN_TIMEOUT=5\n');
    assert.ok(stop.calls.includes('shutdown a') && stop.calls.includes('shutdown b'));
    assert.ok(!stop.calls.some((c) => c.includes(' c')), 'a stopped domain is left alone');
    assert.equal(readFileSync(join(dir, 'state'), 'utf8'), 'default a\ndefault b\n');
    const start = run(dir, 'start', 'ON_BOOT=start\n');
    assert.deepEqual(
      start.calls.filter((c) => c.startsWith('start')),
      ['start a', 'start b'],
    );
    assert.equal(existsSync(join(dir, 'state')), false);
    assert.equal(readFileSync(join(dir, 'dom-c'), 'utf8'), 'shut off');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ferry-guests: a guest that ignores the power button is reported after SHUTDOWN_TIMEOUT; PARALLEL_SHUTDOWN sends all at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-guests-'));
  try {
    fakeFerry(dir, { a: 'running', b: 'running', c: 'running' }, ['b']);
    const stop = run(dir, 'stop', 'PARALLEL_SHUTDOWN=3\nSHUTDOWN_TIMEOUT=1\n');
    // All three asked before any wait: the first three calls after the list are the shutdowns.
    assert.deepEqual(stop.calls.slice(1, 4), ['shutdown a', 'shutdown b', 'shutdown c']);
    assert.match(stop.out, /timeout: b is still running after 1 s/);
    assert.doesNotMatch(stop.out, /timeout: [ac] /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ferry-guests: ON_SHUTDOWN=suspend saves (managedsave), falls back to shutdown when saving fails; ON_BOOT=ignore starts nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-guests-'));
  try {
    fakeFerry(dir, { a: 'running' });
    const saved = run(dir, 'stop', 'ON_SHUTDOWN=suspend\n');
    assert.deepEqual(saved.calls.slice(1), ['managedsave a']);
    fakeFerry(dir, { a: 'running' }, [], true);
    const fallback = run(dir, 'stop', 'ON_SHUTDOWN=suspend\nSHUTDOWN_TIMEOUT=5\n');
    assert.ok(fallback.calls.includes('shutdown a'));
    assert.match(fallback.out, /cannot save a: shutting it down instead/);
    const boot = run(dir, 'start', 'ON_BOOT=ignore\n');
    assert.equal(boot.calls.length, 0);
    assert.equal(existsSync(join(dir, 'state')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
