import assert from 'node:assert/strict';

/** One row of the pre-flight table (`ferry migrate-check`): its outcome and reason. */
export function row(table: string, check: string): { outcome: string; reason: string } {
  const line = table.split('\n').find((l) => l.startsWith(` ${check} `));
  assert.ok(line, `no row for ${check} in:\n${table}`);
  const m = new RegExp(`^ ${check} +(pass|warn|fail) +(.*)$`).exec(line);
  assert.ok(m, line);
  return { outcome: m[1] as string, reason: (m[2] as string).trim() };
}
