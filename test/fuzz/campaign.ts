import fc from 'fast-check';
import { ensureBaseline, resetToBaseline } from './baseline.js';
import { assertBounded } from './invariants.js';
import type { Outcome, Surface } from './surface.js';
import { apiSurface } from './surfaces/api-routes.js';
import { cliSurface } from './surfaces/cli-args.js';
import { definitionSurface } from './surfaces/definition.js';
import { domainKind } from './surfaces/domain-xml.js';
import { ferrydConfSurface } from './surfaces/ferryd-conf.js';
import { networkKind, poolKind } from './surfaces/network-pool-xml.js';
import type { FuzzTarget, Health } from './target.js';

export const SURFACES = ['domain-xml', 'network-xml', 'pool-xml', 'api', 'ferryd-conf', 'cli-args'] as const;
export type SurfaceName = (typeof SURFACES)[number];

export interface CampaignOptions {
  runs: number;
  seed: number;
  /** fast-check's replay path of a failure (with its seed): runs that one input again. */
  path?: string;
}

export interface CampaignResult {
  surface: SurfaceName;
  runs: number;
  accepted: number;
  refused: number;
  /** The refusals by error code, most frequent first. */
  codes: [string, number][];
  seed: number;
  ms: number;
  before: Health;
  after: Health;
  /** Set when an invariant broke: what broke, the shrunk input, and how to replay it. */
  failure?: { message: string; input: string; path: string; replay: string };
}

function surfaceFor(name: SurfaceName, target: FuzzTarget, expected: { state: string }): Surface<unknown> {
  switch (name) {
    case 'domain-xml':
      return definitionSurface(target, domainKind(), expected) as Surface<unknown>;
    case 'network-xml':
      return definitionSurface(target, networkKind(), expected) as Surface<unknown>;
    case 'pool-xml':
      return definitionSurface(target, poolKind(), expected) as Surface<unknown>;
    case 'api':
      return apiSurface(target, expected) as Surface<unknown>;
    case 'ferryd-conf':
      return ferrydConfSurface(target.workDir) as Surface<unknown>;
    case 'cli-args':
      return cliSurface(target, expected) as Surface<unknown>;
  }
}

/**
 * Runs one surface's inputs against the target with fast-check, counting what ferryd accepted and refused,
 * then checks that its memory and descriptors stayed bounded. A ferryd that died is started again before
 * the next input (so that shrinking a crash replays each candidate against a live ferryd).
 */
export async function runCampaign(target: FuzzTarget, name: SurfaceName, options: CampaignOptions): Promise<CampaignResult> {
  await ensureBaseline(target);
  const expected = { state: await target.snapshot() };
  const surface = surfaceFor(name, target, expected);
  const counts = { accepted: 0, refused: 0 };
  const codes = new Map<string, number>();
  const count = (o: Outcome): void => {
    if (o === 'accepted') counts.accepted++;
    else {
      counts.refused++;
      codes.set(o.refused, (codes.get(o.refused) ?? 0) + 1);
    }
  };
  const before = target.health();
  const started = Date.now();
  const property = fc.asyncProperty(surface.arbitrary, async (input) => {
    if (!target.alive()) {
      await target.start();
      await ensureBaseline(target);
      expected.state = await target.snapshot();
    }
    try {
      count(await surface.check(input));
    } catch (err) {
      if (!target.alive()) throw new Error(`ferryd died (crashed) on this input: ${(err as Error).message}\n${target.host.logTail(40)}`);
      await resetToBaseline(target);
      expected.state = await target.snapshot();
      throw err;
    }
  });
  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    ...(options.path ? { path: options.path, endOnFailure: true } : {}),
  });
  const result: CampaignResult = {
    surface: name,
    runs: details.numRuns,
    accepted: counts.accepted,
    refused: counts.refused,
    codes: [...codes].sort((a, b) => b[1] - a[1]),
    seed: options.seed,
    ms: Date.now() - started,
    before,
    after: before,
  };
  if (details.failed) {
    const input = details.counterexample?.[0];
    result.failure = {
      message: details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance),
      input: input === undefined ? '(none)' : surface.describe(input),
      path: details.counterexamplePath ?? '',
      replay: `node dist/test/fuzz/run.js --surface ${name} --seed ${options.seed} --path ${details.counterexamplePath ?? ''} --runs 1`,
    };
    return result;
  }
  if (!target.alive()) throw new Error(`ferryd is not running after the ${name} inputs`);
  result.after = target.health();
  try {
    assertBounded(before, result.after);
  } catch (err) {
    result.failure = {
      message: (err as Error).message,
      input: `(all ${details.numRuns} inputs)`,
      path: '',
      replay: `node dist/test/fuzz/run.js --surface ${name} --seed ${options.seed} --runs ${options.runs}`,
    };
  }
  return result;
}

/** One line of counts for a campaign, and its failure when there is one. */
export function report(r: CampaignResult): string {
  const mib = (k: number): string => (k / 1024).toFixed(0);
  const line = `fuzz ${r.surface}: ${r.runs} inputs (${r.accepted} accepted, ${r.refused} refused) seed ${r.seed} in ${(r.ms / 1000).toFixed(1)} s; ferryd fds ${r.before.fds}→${r.after.fds}, RSS ${mib(r.before.rssKiB)}→${mib(r.after.rssKiB)} MiB`;
  const codes = `  refusals by code: ${r.codes.map(([c, n]) => `${c} ${n}`).join(', ')}`;
  if (!r.failure) return `${line}: ok\n${codes}`;
  return `${line}: FAILED\n${r.failure.message}\n--- input (shrunk) ---\n${r.failure.input}\n--- replay ---\nseed ${r.seed} path ${r.failure.path}\n${r.failure.replay}`;
}
