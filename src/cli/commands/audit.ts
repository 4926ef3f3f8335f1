import type { Command } from 'commander';
import type { AuditRecord, MigrationHistoryEntry } from '../../shared/api-types.js';
import type { ForecastOutcome } from '../../shared/migration-forecast.js';
import { type CliContext, CliFailure, connectionFailure, enc } from '../context.js';
import { formatFields, formatTable } from '../format.js';
import { numeric } from '../numeric.js';
import { parseTimeSpec } from '../time-spec.js';

interface AuditOptions {
  domain?: string;
  since?: string;
  until?: string;
  limit?: number;
  json?: boolean;
}

interface HistoryOptions {
  domain?: string;
  id?: string;
  details?: boolean;
  limit?: number;
  json?: boolean;
}

const query = (params: Record<string, string | number | undefined>): string => {
  const q = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${enc(String(v))}`);
  return q.length ? `?${q.join('&')}` : '';
};

/** ISO 8601 in UTC, to the second: what --since and --until accept back. */
export const isoTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Who made a call: uid/gid of a unix caller, the certificate's DN, or the listener. */
export function callerOfRecord(r: AuditRecord): string {
  if (r.uid !== null) return `uid=${r.uid} gid=${r.gid ?? '?'}`;
  if (r.dn) return r.dn;
  return r.listener;
}

export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('list the recorded state-changing calls: who, from where, what, and the outcome (docs/audit.md)')
    .option('--domain <domain>', 'only the calls on this domain (name or uuid)')
    .option('--since <time>', 'only calls at or after this time: ISO 8601 (2026-11-30T18:00Z) or how long ago (30m, 1h, 2d)')
    .option('--until <time>', 'only calls at or before this time (same forms as --since)')
    .option('--limit <n>', 'only the newest n records', numeric({ name: 'limit', min: 1, max: 1_000_000 }))
    .option('--json', 'print the records as JSON')
    .action(async (opts: AuditOptions) => {
      const since = opts.since === undefined ? undefined : parseTimeSpec(opts.since, '--since');
      const until = opts.until === undefined ? undefined : parseTimeSpec(opts.until, '--until');
      let r: { records: AuditRecord[] };
      try {
        r = await ctx.client().get<{ records: AuditRecord[] }>(`/v1/audit${query({ domain: opts.domain, since, until, limit: opts.limit })}`);
      } catch (err) {
        throw failure(err);
      }
      if (opts.json) {
        ctx.print(`${JSON.stringify(r.records, null, 2)}\n`);
        return;
      }
      const rows = r.records.map((a) => [
        isoTime(a.at),
        callerOfRecord(a),
        a.origin,
        a.operation,
        a.domainName ?? '-',
        a.outcome === 'ok' ? 'ok' : `error: ${a.errorCode ?? '?'}`,
      ]);
      ctx.print(`${formatTable(['Time', 'Caller', 'From', 'Operation', 'Domain', 'Outcome'], rows, { header: !ctx.quiet })}\n`);
    });

  program
    .command('migrate-history')
    .description('list the past migrations of this host: options, phases, outcome, bytes, downtime (docs/audit.md)')
    .argument('[domain]', 'only the migrations of this domain (name or uuid)')
    .option('--domain <domain>', 'the same, as an option')
    .option('--id <id>', 'show one migration (its id or the start of it) with its phases')
    .option('--details', 'show each migration with its options and phases')
    .option('--limit <n>', 'only the newest n migrations', numeric({ name: 'limit', min: 1, max: 1_000_000 }))
    .option('--json', 'print the migrations as JSON')
    .action(async (domain: string | undefined, opts: HistoryOptions) => {
      let r: { migrations: MigrationHistoryEntry[] };
      try {
        r = await ctx
          .client()
          .get<{ migrations: MigrationHistoryEntry[] }>(`/v1/migrations/history${query({ domain: domain ?? opts.domain, id: opts.id, limit: opts.limit })}`);
      } catch (err) {
        throw failure(err);
      }
      if (opts.json) {
        ctx.print(`${JSON.stringify(r.migrations, null, 2)}\n`);
        return;
      }
      if (opts.details || opts.id !== undefined) {
        ctx.print(r.migrations.map(migrationDetails).join('\n'));
        return;
      }
      const rows = r.migrations.map((m) => [
        m.id.slice(0, 8),
        m.name,
        m.side,
        m.peer,
        isoTime(m.startedAt),
        m.outcome,
        `${m.totalMs} ms`,
        m.downtimeMs === null ? '-' : `${m.downtimeMs} ms`,
        m.bytes === null ? '-' : bytes(m.bytes),
      ]);
      ctx.print(`${formatTable(['Id', 'Domain', 'Side', 'Peer', 'Started', 'Outcome', 'Total', 'Downtime', 'Data'], rows, { header: !ctx.quiet })}\n`);
    });
}

/** One migration as domjobinfo-like fields, then its phases with their durations. */
export function migrationDetails(m: MigrationHistoryEntry): string {
  const fields: Array<[string, string]> = [
    ['Id', m.id],
    ['Domain', `${m.name} (${m.uuid})`],
    ['Side', m.side],
    ['Peer', m.peer],
    ['Outcome', m.outcome],
    ['Started', isoTime(m.startedAt)],
    ['Ended', isoTime(m.endedAt)],
    ['Total time', `${m.totalMs} ms`],
    ['Downtime', m.downtimeMs === null ? '-' : `${m.downtimeMs} ms`],
    ['Memory processed', m.bytes === null ? '-' : bytes(m.bytes)],
    ['Disk processed', m.diskBytes === null ? '-' : bytes(m.diskBytes)],
    [
      'Options',
      Object.entries(m.options)
        .filter(([, v]) => v !== undefined && v !== false)
        .map(([k, v]) => (v === true ? k : `${k}=${JSON.stringify(v)}`))
        .join(' ') || '-',
    ],
  ];
  if (m.error) fields.push(['Error', m.error]);
  if (m.forecast) fields.push(['Forecast', forecastLine(m.forecast)]);
  const phases = m.phases.map((p) => [p.phase, isoTime(p.at), p.durationMs === null ? '-' : `${p.durationMs} ms`]);
  return `${formatFields(fields, 18)}\n${formatTable(['Phase', 'Entered', 'Duration'], phases)}`;
}

/** The forecast made before Perform beside what happened (docs/forecast.md). */
function forecastLine(f: ForecastOutcome): string {
  const p = f.predicted;
  const a = f.actual;
  const passes = (n: number): string => `${n} pass${n === 1 ? '' : 'es'}`;
  const predicted = p.converges
    ? `converges in ${p.totalSeconds.toFixed(2)} s, ${passes(p.passes)}, downtime ${Math.round(p.downtimeMs ?? 0)} ms`
    : `does not converge (${passes(p.passes)} in ${p.totalSeconds.toFixed(2)} s)`;
  const actual = `${a.converged ? 'converged' : 'did not finish'}${a.totalSeconds !== undefined ? ` in ${a.totalSeconds.toFixed(2)} s` : ''}${
    a.passes !== undefined ? `, ${passes(a.passes)}` : ''
  }${a.downtimeMs !== undefined ? `, downtime ${a.downtimeMs} ms` : ''}`;
  return `${predicted}; actual: ${actual}`;
}

function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(3)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(3)} KiB`;
  return `${n} B`;
}

function failure(err: unknown): CliFailure {
  if (err instanceof CliFailure) return err;
  const e = err as { code?: string; message?: string; hint?: string };
  if (e.code === 'CONNECT_FAILED' || e.code === undefined) return connectionFailure(err);
  return new CliFailure([e.message ?? String(err)], e.hint, e.code);
}
