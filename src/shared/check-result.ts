import type { checkResultSchema } from './peer-protocol/preflight-messages.js';
import { CHECKS, type CheckId } from './preflight-checks.js';
import type { Static } from './typed-schema.js';

/**
 * One check's verdict: a one-line reason and, unless it passed, how to fix it; overridable: --unsafe turns a failure
 * of this check into a warning (never for leases). The type of its wire schema (the peer call's and migrate-check's).
 */
export type CheckResult = Static<typeof checkResultSchema>;

export const pass = (id: CheckId, reason: string, overridable = false): CheckResult => ({ id, outcome: 'pass', reason, overridable });
export const warn = (id: CheckId, reason: string, hint: string, overridable = false): CheckResult => ({ id, outcome: 'warn', reason, hint, overridable });
export const fail = (id: CheckId, reason: string, hint: string, overridable = false): CheckResult => ({ id, outcome: 'fail', reason, hint, overridable });

/** Applies --unsafe: overridable failures become warnings. */
export function applyUnsafe(results: CheckResult[], unsafe: boolean): CheckResult[] {
  if (!unsafe) return results;
  return results.map((r) => (r.outcome === 'fail' && r.overridable ? { ...r, outcome: 'warn' as const, reason: `${r.reason} (allowed by --unsafe)` } : r));
}

/** Reports ordered as CHECKS lists them. */
export function sortResults(results: CheckResult[]): CheckResult[] {
  const order = Object.keys(CHECKS);
  return [...results].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
}
