import type { FerrydHost } from '../helpers/ferryd.js';
import type { StoredMigration } from '../helpers/store-watch.js';
import { checkEndState, type EndState } from './end-state.js';
import { type Fault, killsTheGuest, type NetworkFault, type ProcessFault } from './faults.js';
import type { Moment, MigrationUnderTest } from './moments.js';
import type { FaultRig, Links } from './rig.js';

/** One trial's line in the runner's output. */
export interface TrialResult {
  fault: string;
  moment: string;
  /** 'ok', 'FAIL', 'missed' (the moment passed before it could be held: not counted) or 'n/a'. */
  result: 'ok' | 'FAIL' | 'missed' | 'n/a';
  direction?: string;
  outcome?: string;
  states?: EndState['states'];
  /** What `ferry migrate` said: its exit status and its first error line. */
  cli?: { code: number; error?: string };
  violations?: string[];
  note?: string;
  ms: number;
}

export interface TrialOptions {
  /** How long a SIGSTOP holds its process, in ms: longer than the timeouts it should trip (docs/reliability.md). */
  holdMs: number;
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);

/**
 * One trial: migrate the guest from where it runs to the other host, hold the migration at `moment`, strike
 * with `fault`, let the hosts recover as a host's service manager would (a killed ferryd started again;
 * ferryd restarts a killed lockd itself), wait until both sides' records are final, and check the end state.
 */
export async function runTrial(rig: FaultRig, fault: Fault, moment: Moment, o: TrialOptions): Promise<TrialResult> {
  const started = Date.now();
  const base = { fault: fault.name, moment: moment.name };
  const na = moment.notApplicable?.(fault);
  if (na) return { ...base, result: 'n/a', note: na, ms: 0 };
  const src = await rig.ensureRunning();
  const dst = rig.other(src);
  const direction = `${rig.label(src)}→${rig.label(dst)}`;
  const logsFrom = new Map(rig.both.map((h) => [h, rig.logAfter(h)] as const));
  const m: MigrationUnderTest = { rig, src, dst, t0: Date.now() };
  // A network fault needs both links through proxies; a process fault runs on the direct ones.
  const links = fault.kind === 'network' ? await rig.links(dst) : undefined;
  try {
    const cli = src.ferry('migrate', ...moment.flags, ...(links?.flags ?? []), rig.name, links?.destUri ?? rig.peerOf(dst));
    try {
      await moment.reach(m);
    } catch (err) {
      await cli;
      await settle(m);
      return { ...base, result: 'missed', direction, note: (err as Error).message, ms: Date.now() - started };
    }
    const note =
      fault.kind === 'network' && links
        ? await strikeLink(rig, m, links, fault, o)
        : fault.kind === 'disk'
          ? await fillDestination(rig, m, o)
          : await strike(rig, m, fault as ProcessFault, o);
    const r = await cli;
    const unsettled = await settle(m);
    return await verdict(rig, { fault, moment, base, direction, logsFrom, note, r, unsettled, started });
  } finally {
    await links?.close();
  }
}

/** The trial's line: the end state's invariants, the records settled, and an error that names a code. */
async function verdict(
  rig: FaultRig,
  t: {
    fault: Fault;
    moment: Moment;
    base: { fault: string; moment: string };
    direction: string;
    logsFrom: Map<FerrydHost, () => string>;
    note: string | undefined;
    r: { code: number; stderr: string };
    unsettled: string | undefined;
    started: number;
  },
): Promise<TrialResult> {
  const { fault, moment, base, direction, logsFrom, note, r, unsettled, started } = t;
  const end = await checkEndState(rig, { guestMayBeLost: killsTheGuest(fault), pausedAllowed: moment.name === 'postcopy', logsFrom });
  const violations = [...end.violations];
  if (unsettled) violations.push(unsettled);
  const error = r.stderr.split('\n').find((l) => l.startsWith('error: '));
  if (r.code !== 0 && !(error && /\[[A-Z_]+\]/.test(r.stderr)))
    violations.push(`ferry migrate failed (${r.code}) without an error naming a code: ${r.stderr.trim().slice(0, 300)}`);
  // No such process at this moment (QEMU already stopped by ferryd at Confirm): nothing was struck, the cell does not apply.
  const struck = !note?.startsWith('no ');
  return {
    ...base,
    result: violations.length > 0 ? 'FAIL' : struck ? 'ok' : 'n/a',
    direction,
    outcome: end.outcome,
    states: end.states,
    cli: { code: r.code, ...(error ? { error } : {}) },
    ...(violations.length ? { violations } : {}),
    ...(note ? { note } : {}),
    ms: Date.now() - started,
  };
}

/**
 * Cuts or stalls a link with the source's ferryd frozen at the moment, lets it run, and brings the link back after
 * the hold. A link with no connection to hit and nothing that tried one during the hold is noted (not struck).
 */
async function strikeLink(rig: FaultRig, m: MigrationUnderTest, links: Links, fault: NetworkFault, o: TrialOptions): Promise<string | undefined> {
  const proxy = fault.link === 'migration' ? links.migration : links.management;
  if (fault.action === 'cut') proxy.cut(o.holdMs);
  else proxy.stall();
  rig.thaw(m.src);
  await sleep(o.holdMs);
  if (fault.action === 'stall') proxy.resume();
  return proxy.hits === 0 ? `no ${fault.link} connection during the ${fault.action}` : undefined;
}

/** The destination's state directory full for the hold, from the moment on. */
async function fillDestination(rig: FaultRig, m: MigrationUnderTest, o: TrialOptions): Promise<undefined> {
  const undo = rig.fillDisk(m.dst);
  try {
    rig.thaw(m.src);
    await sleep(o.holdMs);
  } finally {
    undo();
  }
  return undefined;
}

/** Injects the fault with the source's ferryd frozen at the moment, then lets everything run again. */
async function strike(rig: FaultRig, m: MigrationUnderTest, fault: ProcessFault, o: TrialOptions): Promise<string | undefined> {
  const victim = fault.side === 'source' ? m.src : m.dst;
  if (fault.target === 'ferryd') {
    if (fault.signal === 'SIGKILL') {
      await victim.kill('SIGKILL');
      if (victim !== m.src) rig.thaw(m.src);
      await victim.start();
      return undefined;
    }
    if (victim !== m.src) rig.freeze(victim);
    if (victim !== m.src) rig.thaw(m.src);
    await sleep(o.holdMs);
    rig.thaw(victim);
    return undefined;
  }
  const pid = (fault.target === 'qemu' ? rig.qemus(victim) : rig.lockds(victim))[0];
  if (pid === undefined) {
    rig.thaw(m.src);
    return `no ${fault.target} on the ${fault.side} at this moment`;
  }
  try {
    process.kill(pid, fault.signal);
  } catch {
    rig.thaw(m.src);
    return `the ${fault.side}'s ${fault.target} (pid ${pid}) had exited before the fault`;
  }
  rig.thaw(m.src);
  if (fault.signal === 'SIGSTOP') {
    await sleep(o.holdMs);
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      return `the ${fault.side}'s ${fault.target} (pid ${pid}) ended while stopped (ferryd stopped it)`;
    }
  }
  return undefined;
}

/** Waits until both sides' records of this migration are final and the source's clean-up done; why not, if they never are. */
async function settle(m: MigrationUnderTest, timeoutMs = 90_000): Promise<string | undefined> {
  const newest = (h: FerrydHost, side: 'source' | 'destination'): StoredMigration | undefined => {
    const rec = m.rig.store(h).latest(m.rig.uuid, side);
    return rec && rec.startedAt >= m.t0 ? rec : undefined;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = newest(m.src, 'source');
    const d = newest(m.dst, 'destination');
    const done = (!s || (TERMINAL.has(s.phase) && s.cleanupDone)) && (!d || TERMINAL.has(d.phase));
    if (done) return undefined;
    if (Date.now() > deadline)
      return `not settled after ${timeoutMs / 1000} s: source ${s?.phase ?? '-'}${s?.cleanupDone === false ? ' (clean-up pending)' : ''}, destination ${d?.phase ?? '-'}`;
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
