import type { CheckResult } from '../../shared/check-result.js';
import { CHECKS } from '../../shared/preflight-checks.js';
import { formatTable } from '../format.js';

/** The pre-flight table: one row per check, then the hints of those that did not pass. */
export function formatPreflight(results: CheckResult[]): string {
  const rows = results.map((r) => [CHECKS[r.id], r.outcome, r.reason]);
  let text = formatTable(['Check', 'Result', 'Reason'], rows);
  const hints = results.filter((r) => r.outcome !== 'pass' && r.hint);
  if (hints.length > 0) {
    text += '\nHow to fix:\n';
    for (const r of hints) text += `  ${CHECKS[r.id]}: ${r.hint}\n`;
  }
  return `${text}\n`;
}
