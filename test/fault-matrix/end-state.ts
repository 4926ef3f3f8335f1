import { guestCorrupted, waitHeartbeats } from '../helpers/heartbeat.js';
import type { FerrydHost } from '../helpers/ferryd.js';
import type { FaultRig } from './rig.js';

/** What a trial ended with. */
export interface EndState {
  /** Where the guest runs (A or B), 'crashed' (no QEMU: shut off where its definition is), or 'paused' (documented wait). */
  outcome: string;
  /** The domain's state on each host, as `ferry domstate --reason` says it. */
  states: Record<'A' | 'B', string>;
  /** Each broken invariant, in words; empty when the trial passed. */
  violations: string[];
}

/**
 * The invariants of DESIGN.md after one trial (issue 16): never two running copies; exactly one persistent
 * definition; where the guest runs, it beats and its memory and disk checks pass; the other host is clean (no
 * process of the domain, no definition, no lease); a lost guest only where the fault killed its QEMU.
 * `logsFrom`: each host's serial output since the trial began (the guest's own corruption reports). A paused guest
 * passes only where the documentation says it waits (`pausedAllowed`: post-copy that lost a side).
 */
export async function checkEndState(
  rig: FaultRig,
  o: { guestMayBeLost: boolean; pausedAllowed: boolean; logsFrom: Map<FerrydHost, () => string> },
): Promise<EndState> {
  const violations: string[] = [];
  const [a, b] = rig.both;
  const states = { A: await stateOf(a, rig.name), B: await stateOf(b, rig.name) };
  const running = rig.both.filter((h) => /^running/.test(states[rig.label(h)]));
  const withQemu = rig.both.filter((h) => rig.qemus(h).length > 0);
  if (running.length > 1) violations.push(`the domain runs on both hosts (${states.A} / ${states.B})`);
  if (withQemu.length > 1) violations.push(`a QEMU of the domain on both hosts (A ${rig.qemus(a).join(',')}, B ${rig.qemus(b).join(',')})`);
  for (const h of rig.both) if (rig.qemus(h).length > 1) violations.push(`${rig.qemus(h).length} QEMUs of the domain on ${rig.label(h)}`);
  const persistent = (await Promise.all(rig.both.map((h) => rig.persistentOn(h)))).filter(Boolean).length;
  if (persistent !== 1) violations.push(`${persistent} persistent definitions (A: ${await rig.persistentOn(a)}, B: ${await rig.persistentOn(b)})`);

  const home = withQemu[0] ?? ((await rig.persistentOn(a)) ? a : b);
  const away = rig.other(home);
  if (rig.domainProcesses(away).length > 0) violations.push(`${rig.label(away)} is not clean: processes ${rig.domainProcesses(away).join(',')}`);
  if ((await away.ok('list', '--all', '--name')).split('\n').includes(rig.name)) violations.push(`${rig.label(away)} is not clean: it still has a definition`);
  if (new RegExp(` ${rig.name} `).test(await away.ok('lock-list'))) violations.push(`${rig.label(away)} is not clean: it still holds a lease of the domain`);

  let outcome: string;
  const state = states[rig.label(home)];
  if (/^running/.test(state)) {
    outcome = rig.label(home);
    if (!new RegExp(` exclusive +${rig.name} +vda `).test(await home.ok('lock-list')))
      violations.push(`${rig.label(home)} runs the domain without its disk lease`);
    try {
      await waitHeartbeats(o.logsFrom.get(home) ?? (() => home.serialLog(rig.name)), 3, { timeoutMs: 30_000 });
    } catch {
      violations.push(`the guest does not beat on ${rig.label(home)} (${state})`);
    }
  } else if (withQemu.length === 0) {
    outcome = 'crashed';
    if (!o.guestMayBeLost) violations.push(`the guest was lost (${state}) although the fault did not kill its QEMU`);
  } else {
    outcome = `paused on ${rig.label(home)}`;
    if (!o.pausedAllowed) violations.push(`the guest is left paused on ${rig.label(home)} (${state})`);
  }
  for (const h of rig.both) {
    const after = o.logsFrom.get(h)?.() ?? '';
    if (guestCorrupted(after)) violations.push(`the guest reported corruption on ${rig.label(h)}`);
  }
  return { outcome, states, violations };
}

async function stateOf(h: FerrydHost, name: string): Promise<string> {
  const r = await h.ferry('domstate', '--reason', name);
  return r.code === 0 ? r.stdout.trim() : 'undefined';
}
