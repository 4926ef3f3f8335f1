/**
 * A migration policy, resolved once before `migrate` starts: what QEMU is
 * started with (some choices cannot change later: QEMU 10.0 refuses
 * postcopy-ram together with multifd, compression needs multifd on both
 * sides, and no capability changes while a migration runs), the downtime
 * ramp, and the ordered escalation the migration follows when a pass stalls
 * or its deadline comes (Escalation runs it). Pure: `migrate-check` prints
 * the same plan the migration follows.
 */
import { FerryError } from '../../errors/ferry-error.js';
import type { MigrationOptions, PolicyName } from '../../shared/migration-options-schema.js';
import { predictPostcopy, predictPrecopy, type PrecopyInputs } from '../forecast/precopy-model.js';
import { downtimeSteps } from '../options.js';

/** An escalation step after the downtime ramp. */
export type EscalationStep = 'auto-converge' | 'dirty-limit' | 'suspend' | 'post-copy' | 'abort';

/** How QEMU is started for this policy (on top of what the options ask). */
export interface StartConfig {
  /** postcopy-ram on both sides (multifd off: QEMU 10.0 cannot combine them). */
  postcopyRam: boolean;
  /** multifd with zstd compression on both sides. */
  compression: boolean;
  autoConverge: boolean;
  /** QEMU's dirty-limit throttle (KVM with a dirty ring). */
  dirtyLimit: boolean;
}

/** One line of "what the policy will do and when". */
export interface PlannedStep {
  step: 'start' | 'ramp' | EscalationStep;
  /** At the start, after a stalled pass, when a given pass starts, or at the deadline. */
  when: 'start' | 'stall' | 'pass' | 'deadline';
  pass?: number;
  why: string;
}

export interface PolicyPlan {
  policy: PolicyName;
  /** Where the name came from: --policy, ferryd.conf's migration_policy, ferry's default, or virsh's flags (manual). */
  chosenBy: 'flag' | 'config' | 'default' | 'virsh-flags';
  start: StartConfig;
  /** The downtime limit pass by pass (ms); the last holds. undefined: a fixed limit (manual, as before policies). */
  downtimeSteps?: number[];
  /** --max-downtime: the promise (ms). */
  maxDowntimeMs?: number;
  /** suspend-if-needed: the longest pause for the last pass (ms). */
  maxPauseMs?: number;
  deadlineSeconds?: number;
  /** After the ramp, in order: each is taken when the one before stalls. The last one also runs at the deadline. */
  escalation: EscalationStep[];
  /** The forecast says pre-copy will not converge: switch to post-copy as this pass starts. */
  postcopyAtPass?: number;
  /**
   * The forecast converges only within the measurement's margin (DIRTY_RATE_MARGIN), with post-copy possible: as
   * pass 2 starts, the model runs again from these inputs with QEMU's own dirty rate over the whole first pass
   * (its dirty bitmap, not a sample) and the rate pass 1 moved at; if pre-copy would not converge with them,
   * post-copy starts then, instead of after a stall two passes later.
   */
  recheckAtPass2?: PrecopyInputs;
  /** Passes the throttle (auto-converge, dirty-limit) gets to work before the next step. */
  throttlePasses: number;
  /** The forecast says no step finishes: the migration is refused before it starts, with this reason. */
  refuse?: string;
  /** The forecast behind the choice, when the model's inputs were given. */
  forecast?: { converges: boolean; totalSeconds: number; downtimeMs?: number; step: string };
  /** What the policy will do and when, in order (migrate-check prints this). */
  steps: PlannedStep[];
}

export interface PolicyRequest {
  options: MigrationOptions;
  /** ferryd.conf's migration_policy (undefined: auto). */
  configDefault?: PolicyName;
  /** The domain's max downtime (migrate-setmaxdowntime, QEMU's 300 ms by default), and whether it was set by hand. */
  downtimeCeilingMs: number;
  downtimeExplicit?: boolean;
  /** What the source host offers; unknown facts count as "no". */
  host?: { accel?: 'kvm' | 'tcg'; dirtyRing?: boolean; cpuIdle?: boolean };
  /** The model's inputs (the forecast's measurement); without them `auto` decides from the options and escalates from progress. */
  inputs?: PrecopyInputs;
  /** QEMU's setup before the first byte (the forecast's), added to the totals the plan states. */
  setupSeconds?: number;
}

/** The longest pause suspend-if-needed allows for the last pass when --max-downtime does not say (ms). */
export const DEFAULT_MAX_PAUSE_MS = 5000;
/** Stream bytes per guest byte the planner assumes for multifd zstd when the inputs do not say. */
export const ZSTD_STREAM_RATIO = 0.5;
/**
 * How far a measured dirty rate may be off. QEMU samples it (TCG: page sampling over a short window): a guest
 * writing 150 MiB/s read as 85 to 152 MiB/s on a quiet machine (and as 45 on a busy one). A forecast that converges,
 * but would not at this many times the measured rate, keeps post-copy possible from the start (one stream instead
 * of multifd), so a stall escalates instead of aborting.
 */
export const DIRTY_RATE_MARGIN = 2;
/** Passes a throttle gets before the next step. */
export const THROTTLE_PASSES = 3;
/** QEMU's auto-converge with its defaults (20 % then +10 % a pass, from the third pass): the share of the dirty rate left, pass by pass. */
const AUTO_CONVERGE_FACTOR = [1, 1, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.01];
/** dirty-limit caps each vCPU's dirty rate (QEMU's vcpu-dirty-limit, 1 MB/s by default): a guest is left with a trickle. */
const DIRTY_LIMIT_FACTOR = [1, 1, 0.01];

/** virsh's flags that say how a migration converges: given without --policy, ferry follows them alone (manual). */
export function virshConvergenceFlags(o: MigrationOptions): string[] {
  const flags: Array<[boolean, string]> = [
    [o.autoConverge, '--auto-converge'],
    [o.postcopy, '--postcopy'],
    [o.postcopyAfterPrecopy, '--postcopy-after-precopy'],
    [o.timeout !== undefined, '--timeout'],
  ];
  return flags.filter(([on]) => on).map(([, name]) => name);
}

/** Resolves the policy for one live migration (see the module comment). Throws INVALID_ARGUMENT for combinations QEMU refuses. */
export function planPolicy(r: PolicyRequest): PolicyPlan {
  const o = r.options;
  const { policy, chosenBy } = choosePolicy(r);
  const multifdPinned = o.parallel === true || o.compMethods.some((m) => m === 'zlib' || m === 'zstd');
  const base: StartConfig = { postcopyRam: o.postcopy, compression: false, autoConverge: o.autoConverge, dirtyLimit: false };
  const promise = o.maxDowntime;
  const common = {
    policy,
    chosenBy,
    throttlePasses: THROTTLE_PASSES,
    ...(promise !== undefined ? { maxDowntimeMs: promise } : {}),
    ...(o.deadline !== undefined ? { deadlineSeconds: o.deadline } : {}),
  };
  if (policy === 'manual') {
    // As before policies: a ramp unless a limit was set (then fixed), and virsh's flags decide the rest.
    const steps = promise === undefined && !r.downtimeExplicit ? downtimeSteps(r.downtimeCeilingMs) : undefined;
    return withSteps({ ...common, start: base, ...(steps ? { downtimeSteps: steps } : {}), escalation: [] });
  }
  // A named policy ramps up to the promise (or the domain's limit) and never past it.
  const ramp = downtimeSteps(promise ?? r.downtimeCeilingMs);
  const plan = { ...common, downtimeSteps: ramp };
  switch (policy) {
    case 'minimal-downtime':
      return withSteps({ ...plan, start: base, escalation: ['abort'] });
    case 'suspend-if-needed':
      // The ramp stays at the domain's limit: a pause up to the promise is this policy's own last step.
      return withSteps({
        ...plan,
        downtimeSteps: downtimeSteps(Math.min(promise ?? r.downtimeCeilingMs, r.downtimeCeilingMs)),
        start: base,
        maxPauseMs: promise ?? DEFAULT_MAX_PAUSE_MS,
        escalation: ['suspend', 'abort'],
      });
    case 'post-copy':
      if (multifdPinned) throw conflict('post-copy');
      return withSteps({ ...plan, start: { ...base, postcopyRam: true }, escalation: ['post-copy'] });
    case 'auto':
      return withSteps(planAuto(r, plan, base, multifdPinned));
  }
}

type Unstepped = Omit<PolicyPlan, 'steps'>;

function choosePolicy(r: PolicyRequest): { policy: PolicyName; chosenBy: PolicyPlan['chosenBy'] } {
  if (r.options.policy) return { policy: r.options.policy, chosenBy: 'flag' };
  if (virshConvergenceFlags(r.options).length > 0) return { policy: 'manual', chosenBy: 'virsh-flags' };
  if (r.configDefault) return { policy: r.configDefault, chosenBy: 'config' };
  return { policy: 'auto', chosenBy: 'default' };
}

/**
 * auto: the cheapest step that finishes. With the model's inputs: plain pre-copy if it converges, else
 * compression (the link is the bottleneck and the CPU is not), else a throttle (KVM), else post-copy, else
 * refuse. Without them: the options' own start (multifd unless --postcopy); after the ramp, post-copy if --postcopy
 * enabled it, else abort with the reason.
 */
function planAuto(r: PolicyRequest, plan: Omit<Unstepped, 'start' | 'escalation'>, base: StartConfig, multifdPinned: boolean): Unstepped {
  const postcopyAllowed = !multifdPinned;
  const throttles: EscalationStep[] = base.autoConverge ? ['auto-converge'] : [];
  if (!r.inputs) {
    // No forecast: start as the options say (multifd unless --postcopy), so a converging migration is no slower;
    // post-copy is a step only when --postcopy made it possible from the start.
    return { ...plan, start: base, escalation: [...throttles, base.postcopyRam ? 'post-copy' : 'abort'] };
  }
  const inp: PrecopyInputs = {
    ...r.inputs,
    downtimeLimitMs: plan.downtimeSteps ?? r.inputs.downtimeLimitMs,
    ...(plan.deadlineSeconds !== undefined ? { deadlineSeconds: plan.deadlineSeconds } : {}),
  };
  // QEMU's setup comes before the model's first byte (forecastFromInputs adds it the same way).
  const setup = r.setupSeconds ?? 0;
  const forecast = (f: ReturnType<typeof predictPrecopy>, step: string) => ({
    converges: f.converges,
    totalSeconds: setup + f.totalSeconds,
    step,
    ...(f.downtimeMs !== undefined ? { downtimeMs: f.downtimeMs } : {}),
  });
  const plain = predictPrecopy(inp);
  // A forecast that pre-copy converges can be wrong (a measurement that read the dirty rate low): when --postcopy
  // enabled post-copy from the start, or when the forecast converges only by a margin the measurement cannot promise,
  // post-copy stays the last step, as without a forecast, instead of an abort.
  if (plain.converges) {
    const sure = predictPrecopy({ ...inp, dirtyBytesPerSec: inp.dirtyBytesPerSec * DIRTY_RATE_MARGIN }).converges;
    const postcopyRam = base.postcopyRam || (!sure && postcopyAllowed);
    return {
      ...plan,
      start: { ...base, postcopyRam },
      escalation: [...throttles, postcopyRam ? 'post-copy' : 'abort'],
      // Not sure: as pass 2 starts, QEMU's own rates over pass 1 decide (Escalation).
      ...(postcopyRam && !sure && throttles.length === 0 ? { recheckAtPass2: inp } : {}),
      forecast: forecast(plain, 'pre-copy'),
    };
  }
  const host = r.host ?? {};
  if (host.cpuIdle === true && !base.postcopyRam) {
    const zstd = predictPrecopy({ ...inp, streamRatio: r.inputs.streamRatio ?? ZSTD_STREAM_RATIO });
    if (zstd.converges) return { ...plan, start: { ...base, compression: true }, escalation: ['abort'], forecast: forecast(zstd, 'compression') };
  }
  if (host.accel === 'kvm') {
    const dirtyLimit = host.dirtyRing === true && !base.autoConverge;
    const throttled = predictPrecopy({ ...inp, dirtyFactor: dirtyLimit ? DIRTY_LIMIT_FACTOR : AUTO_CONVERGE_FACTOR });
    if (throttled.converges) {
      const step: EscalationStep = dirtyLimit ? 'dirty-limit' : 'auto-converge';
      return {
        ...plan,
        start: { ...base, postcopyRam: base.postcopyRam || postcopyAllowed, autoConverge: !dirtyLimit, dirtyLimit },
        escalation: [step, postcopyAllowed ? 'post-copy' : 'abort'],
        forecast: forecast(throttled, step),
      };
    }
  }
  if (postcopyAllowed) {
    // The first pass moves memory at the pre-copy rate and the rest follows on demand, unless the first pass would
    // itself stall: a guest that rewrites at least `stallRatio` of what the pass sends before it ends (dirtying about
    // as fast as the link carries it, with its whole memory in the working set). That pass would only delay the
    // switch, so post-copy starts at once and every page moves once.
    const afterFirst = predictPostcopy(inp, 1);
    const atOnce = afterFirst.postcopyBytes >= (inp.stallRatio ?? 0.9) * inp.firstPassBytes;
    const pc = atOnce ? predictPostcopy(inp, 0) : afterFirst;
    return {
      ...plan,
      start: { ...base, postcopyRam: true },
      escalation: ['post-copy'],
      postcopyAtPass: atOnce ? 1 : 2,
      forecast: { converges: true, totalSeconds: setup + pc.totalSeconds, step: 'post-copy' },
    };
  }
  const mib = (b: number) => Math.round(b / 1048576);
  return {
    ...plan,
    start: base,
    escalation: ['abort'],
    forecast: forecast(plain, 'none'),
    refuse:
      `the guest dirties ${mib(inp.dirtyBytesPerSec)} MiB/s and the link carries ${mib(inp.linkBytesPerSec)} MiB/s: pre-copy does not converge, ` +
      `and post-copy is ruled out by ${r.options.parallel ? '--parallel' : 'zlib/zstd compression'}`,
  };
}

function conflict(policy: PolicyName): FerryError {
  return new FerryError(
    'INVALID_ARGUMENT',
    `invalid argument: --policy ${policy} needs post-copy, which QEMU cannot combine with --parallel or zlib/zstd compression`,
    { hint: `Drop --parallel and --comp-methods, or choose --policy minimal-downtime or suspend-if-needed` },
  );
}

/** Adds the human-readable schedule (what the policy will do and when). */
function withSteps(p: Unstepped): PolicyPlan {
  return { ...p, steps: describeSteps(p) };
}

function describeSteps(p: Unstepped): PlannedStep[] {
  const out: PlannedStep[] = [];
  const start: string[] = [];
  if (p.start.postcopyRam) start.push('post-copy enabled (one stream: QEMU cannot combine it with multifd)');
  if (p.start.compression) start.push('multifd with zstd compression');
  if (p.start.autoConverge) start.push('auto-converge on');
  if (p.start.dirtyLimit) start.push('dirty-limit on');
  const by = { flag: '--policy', config: "ferryd.conf's migration_policy", default: "ferry's default", 'virsh-flags': "virsh's convergence flags" }[p.chosenBy];
  out.push({ step: 'start', when: 'start', why: `policy ${p.policy} (${by})${start.length > 0 ? `: ${start.join(', ')}` : ''}` });
  if (p.refuse) out.push({ step: 'abort', when: 'start', why: p.refuse });
  if (p.downtimeSteps && p.downtimeSteps.length > 1) {
    out.push({ step: 'ramp', when: 'stall', why: `downtime limit ${p.downtimeSteps.join(' → ')} ms, one step per stalled pass` });
  } else if (p.downtimeSteps) {
    out.push({ step: 'ramp', when: 'start', why: `downtime limit ${p.downtimeSteps[0]} ms` });
  }
  if (p.recheckAtPass2) {
    out.push({
      step: 'post-copy',
      when: 'pass',
      pass: 2,
      why: "if QEMU's own dirty rate over the first pass says pre-copy does not converge (the forecast converges only within the measurement's margin)",
    });
  }
  if (p.postcopyAtPass !== undefined) {
    const why =
      p.postcopyAtPass <= 1
        ? 'the forecast says a first pass would stall (the guest rewrites its memory as fast as the link carries it): post-copy as soon as the transfer runs'
        : 'the forecast says pre-copy does not converge: post-copy after the first pass';
    out.push({ step: 'post-copy', when: 'pass', pass: p.postcopyAtPass, why });
  }
  for (const step of p.escalation) out.push({ step, when: 'stall', why: whyStep(step, p) });
  if (p.deadlineSeconds !== undefined) {
    const last = p.escalation.at(-1);
    if (last) out.push({ step: last, when: 'deadline', why: `at --deadline ${p.deadlineSeconds} s, if not finished` });
  }
  return out;
}

function whyStep(step: EscalationStep, p: Unstepped): string {
  switch (step) {
    case 'auto-converge':
      return `QEMU throttles the vCPUs; ${p.throttlePasses} more stalled passes before the next step`;
    case 'dirty-limit':
      return `QEMU limits each vCPU's dirty rate; ${p.throttlePasses} more stalled passes before the next step`;
    case 'suspend':
      return `pause the guest for the last pass if it fits in ${p.maxPauseMs} ms`;
    case 'post-copy':
      return 'switch to post-copy: the guest runs on the destination at once, pages follow';
    case 'abort':
      return p.maxDowntimeMs !== undefined
        ? `abort: the switch-over cannot fit in --max-downtime ${p.maxDowntimeMs} ms; the domain keeps running on the source`
        : 'abort: the migration does not converge; the domain keeps running on the source';
  }
}
