/** One step of a worklist: fix this reason, and this many more domains are done. */
export interface WorkStep {
  key: string;
  /** Domains that have this reason at all (fixed or not by earlier steps). */
  domains: number;
  /** Domains this step finishes: their last remaining reason. */
  unlocks: number;
  /** Domains done after this step, counting those done before any step. */
  cumulative: number;
}

/**
 * Orders reasons so that fixing them in turn finishes the most domains
 * soonest. `issues` maps each domain to the reasons it needs fixed (an empty
 * set: already done). Each step takes the reason with the highest score, where
 * a domain gives each of its remaining reasons 1/(number remaining): a domain
 * that one fix finishes weighs 1, one that needs four fixes weighs ¼ on each.
 * Stops when every domain is done or `maxSteps` is reached.
 */
export function worklist(issues: ReadonlyMap<string, ReadonlySet<string>>, maxSteps = 80): WorkStep[] {
  const remaining = new Map([...issues].map(([d, s]) => [d, new Set(s)]));
  const total = new Map<string, number>();
  for (const s of issues.values()) for (const k of s) total.set(k, (total.get(k) ?? 0) + 1);
  let done = [...remaining.values()].filter((s) => s.size === 0).length;
  const steps: WorkStep[] = [];
  while (steps.length < maxSteps) {
    const score = new Map<string, number>();
    for (const s of remaining.values()) for (const k of s) score.set(k, (score.get(k) ?? 0) + 1 / s.size);
    if (score.size === 0) break;
    const [key] = [...score].sort((a, b) => b[1] - a[1] || (total.get(b[0]) ?? 0) - (total.get(a[0]) ?? 0) || a[0].localeCompare(b[0]))[0] as [string, number];
    let unlocks = 0;
    for (const s of remaining.values()) {
      if (s.delete(key) && s.size === 0) unlocks++;
    }
    done += unlocks;
    steps.push({ key, domains: total.get(key) ?? 0, unlocks, cumulative: done });
  }
  return steps;
}
