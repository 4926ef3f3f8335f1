import type { Fault } from './faults.js';
import type { Moment } from './moments.js';
import type { TrialResult } from './trial.js';

/**
 * The matrix as a markdown table: a row per moment, a column per fault; each cell the trials that passed of
 * those run, with their outcomes (where the guest ended: A, B, crashed, paused), or n/a, or FAIL.
 */
export function matrixTable(results: TrialResult[], faults: Fault[], moments: Moment[]): string {
  const lines = [`| moment | ${faults.map((f) => f.name).join(' | ')} |`, `|---|${faults.map(() => '---').join('|')}|`];
  for (const m of moments) {
    const cells = faults.map((f) => cell(results.filter((r) => r.fault === f.name && r.moment === m.name)));
    lines.push(`| ${m.name} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function cell(rs: TrialResult[]): string {
  if (rs.length === 0) return '';
  if (rs.every((r) => r.result === 'n/a')) return 'n/a';
  const run = rs.filter((r) => r.result === 'ok' || r.result === 'FAIL');
  const ok = run.filter((r) => r.result === 'ok').length;
  const outcomes = [...new Set(run.map((r) => (r.outcome === 'A' || r.outcome === 'B' ? (r.direction?.endsWith(r.outcome) ? 'moved' : 'stayed') : r.outcome)))];
  const missed = rs.filter((r) => r.result === 'missed').length;
  return `${ok < run.length ? '**FAIL** ' : ''}${ok}/${run.length}${outcomes.length ? ` (${outcomes.join(', ')})` : ''}${missed ? `, ${missed} missed` : ''}`;
}
