import assert from 'node:assert/strict';
import type { FuzzTarget, Health, Reply } from './target.js';

/** A refusal is a 4xx with a ferry error code; never a 500, never INTERNAL_ERROR. */
export function assertNoInternalError(what: string, r: Reply): void {
  assert.notEqual(r.code, 'INTERNAL_ERROR', `${what}: INTERNAL_ERROR for bad input: ${r.text.slice(0, 2000)}`);
  assert.ok(r.status < 500 || (r.code !== undefined && r.status !== 500), `${what}: HTTP ${r.status}: ${r.text.slice(0, 2000)}`);
}

/** A refused request is a ferry error: 4xx (or a coded 5xx such as a missing host facility) with a code. */
export function assertCodedRefusal(what: string, r: Reply): void {
  assertNoInternalError(what, r);
  assert.ok(r.status >= 400, `${what}: not a refusal (HTTP ${r.status})`);
  assert.ok(r.code, `${what}: HTTP ${r.status} without an error code: ${r.text.slice(0, 500)}`);
}

/** The state is what it was: a refused input changed nothing. */
export async function assertStateUnchanged(target: FuzzTarget, before: string, what: string): Promise<void> {
  const after = await target.snapshot();
  if (after !== before) assert.equal(after, before, `${what}: a refused input changed ferryd's state`);
}

/** How far memory and descriptors may grow over a run: generous, as a leak over thousands of inputs exceeds it. */
export interface HealthBound {
  extraFds: number;
  extraRssKiB: number;
}

export const DEFAULT_HEALTH_BOUND: HealthBound = { extraFds: 32, extraRssKiB: 256 * 1024 };

export function assertBounded(before: Health, after: Health, bound: HealthBound = DEFAULT_HEALTH_BOUND): void {
  assert.ok(after.fds <= before.fds + bound.extraFds, `ferryd's descriptors grew from ${before.fds} to ${after.fds}`);
  assert.ok(
    after.rssKiB <= before.rssKiB + bound.extraRssKiB,
    `ferryd's memory grew from ${before.rssKiB} KiB to ${after.rssKiB} KiB (bound +${bound.extraRssKiB} KiB)`,
  );
}
