import type { MigrationOutcome } from './migration-outcome.js';

/** One row of the side-by-side table: a migration and what the guest and the VM network saw of it. */
export interface SideBySideRow extends MigrationOutcome {
  case: string;
  tool: 'ferry' | 'libvirt';
  flags: string;
  run: number;
  /** "ok", or what the guest's memory check found. */
  memory: string;
  /** Lab: bytes on the source's migration link, the longest gap between ping replies, and the requests lost. */
  wireBytes?: number;
  blackoutMs?: number;
  lost?: number;
}

const MiB = 2 ** 20;

function cell(v: number | undefined, digits: number): string {
  return v === undefined ? '-' : v.toFixed(digits);
}

/** A Markdown table of one case's runs, as BENCHMARKS.md shows them. */
export function sideBySideTable(rows: SideBySideRow[]): string {
  const lab = rows.some((r) => r.blackoutMs !== undefined || r.wireBytes !== undefined);
  const head = [
    'tool',
    'flags',
    'run',
    'completed',
    'total s',
    'job s',
    'downtime ms',
    'MiB sent',
    ...(lab ? ['wire MiB', 'ping gap ms', 'lost'] : []),
    'forecast (ferry)',
    'policy step',
    'memory check',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const completed = r.completed ? 'yes' : `no: ${r.why ?? '?'}`;
    const cells = [
      r.tool,
      r.flags ? `\`${r.flags}\`` : '(none)',
      String(r.run),
      completed.replaceAll('|', '/'),
      cell(r.totalS, 2),
      cell(r.jobS, 2),
      cell(r.downtimeMs, 0),
      cell(r.bytes === undefined ? undefined : r.bytes / MiB, 0),
      ...(lab ? [cell(r.wireBytes === undefined ? undefined : r.wireBytes / MiB, 0), cell(r.blackoutMs, 0), cell(r.lost, 0)] : []),
      (r.forecast ?? '-').replaceAll('|', '/'),
      r.policyStep ?? '-',
      r.memory.replaceAll('|', '/').replaceAll('\n', ' '),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
