import type { Command } from 'commander';
import type { DomainEvent } from '../../shared/domain-events.js';
import type { MigrationResult } from '../../shared/api-types.js';
import { type CompressionMethod, type MigrationOptions, POLICY_NAMES, type PolicyName } from '../../shared/migration-options-schema.js';
import { FerryError } from '../../errors/ferry-error.js';
import { parseGraphicsUri } from '../../common/graphics-uri.js';
import type { CheckResult } from '../../shared/check-result.js';
import { CliFailure, type CliContext, domainFailure, domainOp, enc } from '../context.js';
import { formatPreflight } from './preflight-table.js';
import { formatForecast } from './forecast-format.js';
import type { MigrationForecast } from '../../shared/migration-forecast.js';
import { LIMITS, numeric } from '../numeric.js';

interface MigrateFlags {
  domain?: string;
  desturi?: string;
  live?: boolean;
  offline?: boolean;
  p2p?: boolean;
  direct?: boolean;
  tunnelled?: boolean;
  persistent?: boolean;
  undefinesource?: boolean;
  suspend?: boolean;
  copyStorageAll?: boolean;
  copyStorageInc?: boolean;
  migrateDisks?: string;
  copyStorageSynchronousWrites?: boolean;
  unsafe?: boolean;
  verbose?: boolean;
  compressed?: boolean;
  compMethods?: string;
  abortOnError?: boolean;
  autoConverge?: boolean;
  autoConvergeInitial?: number;
  autoConvergeIncrement?: number;
  postcopy?: boolean;
  postcopyAfterPrecopy?: boolean;
  postcopyResume?: boolean;
  /** true: --parallel; false: --no-parallel; undefined: ferry's default (parallel). */
  parallel?: boolean;
  parallelConnections?: number;
  bandwidth?: number;
  postcopyBandwidth?: number;
  timeout?: number;
  timeoutSuspend?: boolean;
  timeoutPostcopy?: boolean;
  listenAddress?: string;
  migrateuri?: string;
  graphicsuri?: string;
  tls?: boolean;
  tlsDestination?: string;
  dname?: string;
  dryRun?: boolean;
  json?: boolean;
  dirtyRateWindow?: number;
  policy?: string;
  maxDowntime?: number;
  deadline?: number;
}

/** Translates virsh migrate's flags into the API's options, refusing the combinations virsh refuses. */
export function migrationOptionsFrom(f: MigrateFlags): Partial<MigrationOptions> {
  if (f.offline && !f.persistent) {
    throw new CliFailure(
      ['invalid argument: flag VIR_MIGRATE_OFFLINE requires VIR_MIGRATE_PERSIST_DEST'],
      'Add --persistent: an offline migration moves the definition',
      'INVALID_ARGUMENT',
    );
  }
  if (f.offline && f.live) throw new CliFailure(['Options --live and --offline are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
  if ((f.timeoutSuspend || f.timeoutPostcopy) && f.timeout === undefined) {
    throw new CliFailure(['migrate: --timeout-suspend and --timeout-postcopy need --timeout'], undefined, 'INVALID_ARGUMENT');
  }
  if (f.timeoutSuspend && f.timeoutPostcopy)
    throw new CliFailure(['Options --timeout-suspend and --timeout-postcopy are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
  if (f.timeoutPostcopy && !f.postcopy) throw new CliFailure(['migrate: --timeout-postcopy requires --postcopy'], undefined, 'INVALID_ARGUMENT');
  if (f.postcopyAfterPrecopy && !f.postcopy) throw new CliFailure(['migrate: --postcopy-after-precopy requires --postcopy'], undefined, 'INVALID_ARGUMENT');
  if (f.timeout !== undefined && !f.live)
    throw new CliFailure(['migrate: Unexpected timeout for offline migration'], 'A --timeout only makes sense with --live', 'INVALID_ARGUMENT');
  if (f.tunnelled)
    throw new CliFailure(
      ['migrate: --tunnelled is not supported: ferry always migrates peer to peer over its own data connection'],
      undefined,
      'NOT_SUPPORTED',
    );
  if (f.copyStorageAll && f.copyStorageInc)
    throw new CliFailure(['Options --copy-storage-all and --copy-storage-inc are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
  if ((f.migrateDisks || f.copyStorageSynchronousWrites) && !f.copyStorageAll && !f.copyStorageInc) {
    throw new CliFailure(
      ['migrate: --migrate-disks and --copy-storage-synchronous-writes need --copy-storage-all or --copy-storage-inc'],
      undefined,
      'INVALID_ARGUMENT',
    );
  }
  if (f.dname) throw new CliFailure(['migrate: renaming a domain while migrating (--dname) is not supported'], undefined, 'NOT_SUPPORTED');
  const methods = f.compMethods ? f.compMethods.split(',').map((m) => m.trim()) : [];
  for (const m of methods) {
    if (!['xbzrle', 'zlib', 'zstd'].includes(m)) {
      throw new CliFailure([`Unsupported compression method '${m}'`], 'QEMU 10 supports xbzrle, zlib and zstd', 'INVALID_ARGUMENT');
    }
  }
  const o: Partial<MigrationOptions> = {
    live: f.live ?? false,
    offline: f.offline ?? false,
    persistent: f.persistent ?? false,
    undefineSource: f.undefinesource ?? false,
    suspend: f.suspend ?? false,
    compressed: f.compressed ?? false,
    compMethods: methods as CompressionMethod[],
    abortOnError: f.abortOnError ?? false,
    unsafe: f.unsafe ?? false,
    autoConverge: f.autoConverge ?? false,
    postcopy: f.postcopy ?? false,
    postcopyAfterPrecopy: f.postcopyAfterPrecopy ?? false,
    timeoutAction: f.timeoutPostcopy ? 'postcopy' : f.timeoutSuspend ? 'suspend' : 'abort',
    copyStorage: f.copyStorageAll ? 'all' : f.copyStorageInc ? 'inc' : 'none',
    copyStorageSynchronousWrites: f.copyStorageSynchronousWrites ?? false,
    tls: f.tls ?? false,
  };
  if (f.tlsDestination) o.tlsDestination = f.tlsDestination;
  if (f.migrateDisks)
    o.migrateDisks = f.migrateDisks
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean);
  if (f.parallel !== undefined) o.parallel = f.parallel;
  // The numbers were checked as the command line was read (numeric()).
  if (f.parallelConnections !== undefined) {
    if (!f.parallel) throw new CliFailure(['migrate: --parallel-connections requires --parallel'], undefined, 'INVALID_ARGUMENT');
    o.parallelConnections = f.parallelConnections;
  }
  if (f.autoConvergeInitial !== undefined) o.autoConvergeInitial = f.autoConvergeInitial;
  if (f.autoConvergeIncrement !== undefined) o.autoConvergeIncrement = f.autoConvergeIncrement;
  if (f.policy !== undefined) {
    if (!(POLICY_NAMES as readonly string[]).includes(f.policy)) {
      throw new CliFailure([`migrate: unknown policy '${f.policy}'`], `Policies: ${POLICY_NAMES.join(', ')} (docs/policies.md)`, 'INVALID_ARGUMENT');
    }
    o.policy = f.policy as PolicyName;
  }
  if ((f.policy !== undefined || f.deadline !== undefined) && !f.live) {
    throw new CliFailure(
      ['migrate: --policy and --deadline need --live'],
      'A migration that is not --live pauses the guest for the whole copy',
      'INVALID_ARGUMENT',
    );
  }
  if (f.maxDowntime !== undefined) o.maxDowntime = f.maxDowntime;
  if (f.deadline !== undefined) o.deadline = f.deadline;
  if (f.bandwidth !== undefined) o.bandwidth = f.bandwidth;
  if (f.postcopyBandwidth !== undefined) o.postcopyBandwidth = f.postcopyBandwidth;
  if (f.timeout !== undefined) o.timeout = f.timeout;
  if (f.listenAddress) o.listenAddress = f.listenAddress;
  if (f.migrateuri) o.migrateUri = f.migrateuri;
  if (f.graphicsuri) {
    parseGraphicsUri(f.graphicsuri);
    o.graphicsUri = f.graphicsuri;
  }
  if (f.dirtyRateWindow !== undefined) o.dirtyRateWindowMs = f.dirtyRateWindow;
  return o;
}

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description("migrate a domain to another host (peer to peer: this host's ferryd drives the destination)")
    .argument('[domain]', 'domain name, id or uuid')
    .argument(
      '[desturi]',
      'destination: qemu+ssh://HOST/system, ferry+tls://HOST/system, ferry+tcp://HOST:PORT/system (listen_tcp, labs), or ferry:///system?socket=PATH for a ferryd on this machine',
    )
    .argument('[migrateuri]', 'migration data URI, tcp://HOST[:PORT] (default: the destination host, a port it picks)')
    .argument('[graphicsuri]', "where SPICE clients reconnect, spice://HOST[:PORT][?tlsPort=N] (default: the destination display's address and port)")
    .argument('[listen-address]', 'address the destination QEMU listens on for the migration data')
    .option('--domain <domain>', 'domain name, id or uuid')
    .option('--desturi <uri>', 'destination URI')
    .option('--live', 'live migration: the guest keeps running during the copy (default: paused for the whole copy, as virsh)')
    .option('--offline', 'offline migration: move the definition of a shut-off domain (needs --persistent)')
    .option('--p2p', 'peer-to-peer migration (ferry always migrates peer to peer)')
    .option('--direct', 'accepted for compatibility (ferry always migrates peer to peer)')
    .option('--tunnelled', 'not supported: ferry sends migration data on its own connection')
    .option('--persistent', 'persist the domain on the destination')
    .option('--undefinesource', 'undefine the domain on the source after success')
    .option('--suspend', 'leave the domain paused on the destination')
    .option('--copy-storage-all', 'migration without shared storage: copy the local disks to the same pool (or path) on the destination')
    .option('--copy-storage-inc', 'like --copy-storage-all, copying only the top image (backing files must exist on the destination)')
    .option('--migrate-disks <list>', 'comma-separated disk targets to copy (e.g. vda,vdb); the others must be shared')
    .option('--copy-storage-synchronous-writes', 'guest writes wait for the copy, so a busy disk still converges')
    .option('--change-protection', 'accepted for compatibility (ferry always protects the domain while it migrates)')
    .option('--unsafe', 'force the migration even if it may be unsafe (a disk cache other than none)')
    .option('--verbose', 'display the progress of the migration')
    .option('--compressed', 'compress memory pages (xbzrle unless --comp-methods says otherwise)')
    .option('--comp-methods <list>', 'comma-separated compression methods: xbzrle, zlib, zstd (zlib/zstd use parallel channels)')
    .option('--abort-on-error', 'abort the migration if the domain hits a disk I/O error')
    .option('--auto-converge', "throttle the guest's vCPUs when it dirties memory faster than it can be sent")
    .option(
      '--auto-converge-initial <percent>',
      'initial vCPU throttle for --auto-converge, 1-99 (QEMU default 20)',
      numeric({ name: 'auto-converge-initial', min: 1, max: 99 }),
    )
    .option(
      '--auto-converge-increment <percent>',
      'throttle increment per pass for --auto-converge, 1-99 (QEMU default 10)',
      numeric({ name: 'auto-converge-increment', min: 1, max: 99 }),
    )
    .option('--postcopy', 'enable post-copy migration (switch with migrate-postcopy or --timeout-postcopy)')
    .option('--postcopy-after-precopy', 'switch to post-copy automatically after the first pre-copy pass (needs --postcopy)')
    .option(
      '--postcopy-resume',
      "resume a post-copy migration whose connection broke (both sides paused), on the source, with the migration's DOMAIN and DESTURI",
    )
    .option('--parallel', 'send memory over several connections (ferry does this by default unless --postcopy or xbzrle)')
    .option('--parallel-connections <n>', 'number of parallel connections, 1-255 (default 2)', numeric({ name: 'parallel-connections', min: 1, max: 255 }))
    .option('--no-parallel', "send memory over one connection (ferry's default is two)")
    .option(
      '--bandwidth <MiB/s>',
      'bandwidth cap for the migration in MiB/s (default: migrate-setspeed value, unlimited)',
      numeric({ name: 'bandwidth', min: 0, max: LIMITS.mibPerSecond }),
    )
    .option(
      '--postcopy-bandwidth <MiB/s>',
      'bandwidth cap for the post-copy phase in MiB/s (default: not capped; 0: not capped)',
      numeric({ name: 'postcopy-bandwidth', min: 0, max: LIMITS.mibPerSecond }),
    )
    .option(
      '--timeout <seconds>',
      'act when the live migration takes longer: abort it (default), or see --timeout-suspend/--timeout-postcopy',
      numeric({ name: 'timeout', min: 1, max: LIMITS.seconds, belowMin: 'migrate: Invalid timeout' }),
    )
    .option('--timeout-suspend', 'at --timeout, pause the domain so the migration completes')
    .option('--timeout-postcopy', 'at --timeout, switch to post-copy (needs --postcopy)')
    .option(
      '--policy <name>',
      `how a live migration that does not converge ends: ${POLICY_NAMES.join(', ')} (default: ferryd.conf's migration_policy, auto; docs/policies.md)`,
    )
    .option(
      '--max-downtime <ms>',
      'promise: the guest is never paused longer than this; switch over only when QEMU expects it to fit, else the policy escalates or aborts',
      numeric({ name: 'max-downtime', min: 1, max: LIMITS.downtimeMs, belowMin: 'migrate: Invalid downtime' }),
    )
    .option(
      '--deadline <seconds>',
      'with --live: by then the migration has finished or the policy takes its last step (post-copy, a pause that fits, or abort)',
      numeric({ name: 'deadline', min: 1, max: LIMITS.seconds }),
    )
    .option('--listen-address <address>', 'address the destination QEMU listens on for the migration data')
    .option('--migrateuri <uri>', 'migration data URI, tcp://HOST[:PORT]')
    .option(
      '--graphicsuri <uri>',
      "where SPICE clients reconnect, spice://HOST[:PORT][?tlsPort=N] (default: the destination display's address and the port its QEMU got)",
    )
    .option('--tls', "encrypt the migration data and the disk copy with TLS (QEMU's tls-creds-x509, certificates from tls_dir on both hosts)")
    .option('--tls-destination <host>', "with --tls: the name the destination's certificate must carry, when not the host the data goes to")
    .option('--dname <name>', 'rename the domain on the destination (not supported)')
    .option('--dry-run', 'run the pre-flight checks only and print their table, then the forecast of the migration (docs/forecast.md)')
    .option('--json', 'with --dry-run: print the checks and the forecast as JSON')
    .option(
      '--dirty-rate-window <ms>',
      "how long QEMU measures the guest's dirty rate for the forecast, in ms (QEMU's least is 50), 0 not at all (default: ferryd.conf's migrate_dirty_rate_window_ms, 100)",
      numeric({ name: 'dirty-rate-window', min: 0, max: 60_000 }),
    )
    .addHelpText(
      'after',
      `
Examples:
  ferry migrate --live --persistent --verbose vm1 ferry+tls://host-b/system
  ferry migrate --live --auto-converge --timeout 60 vm1 ferry+tls://host-b/system
  ferry migrate --live --postcopy --timeout 30 --timeout-postcopy vm1 ferry+tls://host-b/system
  ferry migrate --live --copy-storage-all --persistent vm1 ferry+tls://host-b/system
  ferry migrate --live --tls --persistent vm1 ferry+tls://host-b/system           (encrypted: docs/migration.md)
  ferry migrate --offline --persistent --verbose vm1 ferry+tls://host-b/system       (the seed's offline migration)
  ferry migrate --offline --persistent --copy-storage-all vm1 ferry+tls://host-b/system (disks of a shut-off VM too)

A post-copy migration whose connection breaks is not lost: both sides stay paused and the source
reconnects by itself (migration_postcopy_recover_attempts in ferryd.conf), then waits for
  ferry migrate --postcopy-resume vm1 ferry+tls://host-b/system
(docs/migration.md). The switch to post-copy is refused, the domain running on, while the
destination does not answer.

Differences from virsh: --timeout alone aborts the migration (the domain keeps running on
the source) instead of pausing it; ask for --timeout-suspend to pause. Memory is sent over
two parallel connections by default (QEMU multifd), except with --postcopy or xbzrle.
With --tls the stream, its parallel connections and the --copy-storage-* disk copy are encrypted;
migrate_tls_force = 1 in ferryd.conf makes every migration from (and to) that host encrypted.

Policies (--live; docs/policies.md): each raises the downtime limit one step per stalled pass (a pass
that leaves as much as the one before), then takes its last step: minimal-downtime aborts,
suspend-if-needed pauses the guest for the last pass if it fits, post-copy switches to post-copy,
auto (the default) plans from the forecast (a short dirty-rate measurement): multifd pre-copy when it
converges, else post-copy after the first pass, or at once when the guest rewrites its memory about as
fast as the link carries it; it aborts with the reason where post-copy is ruled out (--parallel, zlib/zstd). --max-downtime MS is a promise: no pause longer than MS, else the policy escalates or
aborts with MIG_DOWNTIME_UNREACHABLE, the guest running on the source. --deadline S: by S seconds
the policy takes its last step. Without --policy, --auto-converge, --postcopy or --timeout mean
"manual": those flags alone decide, as in virsh. With --policy they add to it: --postcopy and
--auto-converge are on from the start, and --timeout's action still comes at --timeout.
  ferry migrate --live --policy post-copy --max-downtime 50 vm1 ferry+tls://host-b/system
  ferry migrate --live --policy minimal-downtime --max-downtime 100 --deadline 120 vm1 ferry+tls://host-b/system
`,
    )
    .action(
      async (
        posDomain: string | undefined,
        posDest: string | undefined,
        posMigrateUri: string | undefined,
        posGraphicsUri: string | undefined,
        posListen: string | undefined,
        flags: MigrateFlags,
      ) => {
        const ref = posDomain ?? flags.domain;
        const dest = posDest ?? flags.desturi;
        if (!ref) throw new CliFailure(["command 'migrate' requires <domain> option"], 'ferry migrate [options] DOMAIN DESTURI', 'INVALID_ARGUMENT');
        if (!dest) throw new CliFailure(["command 'migrate' requires <desturi> option"], 'ferry migrate [options] DOMAIN DESTURI', 'INVALID_ARGUMENT');
        const options = migrationOptionsFrom({
          ...flags,
          ...(posMigrateUri && !flags.migrateuri ? { migrateuri: posMigrateUri } : {}),
          ...(posGraphicsUri && !flags.graphicsuri ? { graphicsuri: posGraphicsUri } : {}),
          ...(posListen && !flags.listenAddress ? { listenAddress: posListen } : {}),
        });
        if (flags.postcopyResume) {
          await resumePostcopy(ctx, ref, dest, flags);
          return;
        }
        const client = ctx.client();
        if (flags.dryRun) {
          await printChecks(ctx, ref, dest, options, flags.json ?? false);
          return;
        }
        const progress = flags.verbose ? new AbortController() : undefined;
        let last = -1;
        const show = (percent: number): void => {
          if (percent === last) return;
          last = percent;
          ctx.output.err(`\rMigration: [${String(percent).padStart(3)} %]`);
        };
        let stream: Promise<void> | undefined;
        if (progress) {
          stream = client
            .events((raw) => {
              const e = raw as unknown as DomainEvent;
              if (e.type === 'migration.progress' && (e.name === ref || e.uuid === ref)) show(Math.min(99, e.job.percent));
            }, progress.signal)
            .catch(() => undefined);
          await new Promise((r) => setTimeout(r, 5));
        }
        let result: MigrationResult;
        try {
          ({ migration: result } = await client.post<{ migration: MigrationResult }>(`/v1/domains/${enc(ref)}/migrate`, { destUri: dest, options }));
        } catch (err) {
          if (progress && last >= 0) ctx.output.err('\n');
          if (err instanceof FerryError && err.code === 'MIG_PREFLIGHT_FAILED' && Array.isArray(err.details.results)) {
            ctx.output.err(formatPreflight(err.details.results as CheckResult[]));
          }
          throw domainFailure(err, ref);
        } finally {
          progress?.abort();
          await stream;
        }
        if (flags.verbose) {
          show(100);
          ctx.output.err('\n');
        }
        // After the progress line, so a warning never lands on it.
        for (const w of result.warnings) ctx.output.err(`warning: ${w}\n`);
        if (flags.verbose) {
          const j = result.job;
          ctx.say(
            `Migration of '${result.name}' completed in ${(result.wallMs / 1000).toFixed(2)} s` +
              `${j.qemuTotalTimeMs !== undefined ? ` (QEMU ${(j.qemuTotalTimeMs / 1000).toFixed(2)} s)` : ''}` +
              `${j.downtimeMs !== undefined ? `, downtime ${j.downtimeMs} ms` : ''}`,
          );
        }
      },
    );
}

/** migrate --postcopy-resume: one recovery of the broken post-copy migration now; the migration itself then completes as it was. */
async function resumePostcopy(ctx: CliContext, ref: string, dest: string, flags: MigrateFlags): Promise<void> {
  if (flags.offline || flags.dryRun) {
    throw new CliFailure(
      ['migrate: --postcopy-resume resumes a live post-copy migration: it takes neither --offline nor --dry-run'],
      undefined,
      'INVALID_ARGUMENT',
    );
  }
  await domainOp(ref, undefined, () => ctx.client().post(`/v1/domains/${enc(ref)}/job/postcopy-resume`, { destUri: dest }));
  if (flags.verbose) ctx.say(`Post-copy migration of '${ref}' resumed; it completes on its own (ferry domjobinfo ${ref})`);
}

/** Runs the pre-flight checks alone and prints them (migrate --dry-run, migrate-check). Exit status 1 if any failed. */
async function printChecks(ctx: CliContext, ref: string, dest: string, options: Partial<MigrationOptions>, json: boolean): Promise<void> {
  const report = await domainOp(ref, undefined, () =>
    ctx.client().post<{
      results: CheckResult[];
      failed: CheckResult[];
      warnings: CheckResult[];
      forecast?: MigrationForecast;
      forecastError?: string;
    }>(`/v1/domains/${enc(ref)}/migrate-check`, { destUri: dest, options }),
  );
  if (json) ctx.print(`${JSON.stringify({ ...report, forecast: report.forecast ?? null }, null, 2)}\n`);
  else {
    let text = formatPreflight(report.results);
    // The forecast follows the checks; a live migration of a running domain has one.
    if (report.forecast) text += formatForecast(report.forecast);
    else if (report.forecastError) text += `Forecast: not available: ${report.forecastError}\n`;
    ctx.print(text);
  }
  if (report.failed.length > 0) {
    throw new CliFailure([`pre-flight checks failed: ${report.failed.map((r) => r.id).join(', ')}`], report.failed[0]?.hint, 'MIG_PREFLIGHT_FAILED');
  }
}

export function registerMigrateCheck(program: Command, ctx: CliContext): void {
  program
    .command('migrate-check')
    .description('check every requirement of migrating a domain to a destination, without migrating')
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<desturi>', 'destination URI, as for migrate')
    .option('--live', 'check for a live migration (the default for a running domain)')
    .option('--offline', 'check for an offline migration')
    .option('--copy-storage-all', 'the disks would be copied')
    .option('--copy-storage-inc', 'the top images would be copied')
    .option('--migrate-disks <list>', 'only these disks would be copied')
    .option('--listen-address <address>', 'where the destination would listen')
    .option('--migrateuri <uri>', 'where the migration data would go, tcp://HOST[:PORT]')
    .option('--tls', "the migration would be encrypted: check both hosts' certificates")
    .option('--tls-destination <host>', "the name the destination's certificate would have to carry")
    .option('--unsafe', 'report overridable failures as warnings, as migrate --unsafe would allow them')
    .option(
      '--bandwidth <MiB/s>',
      'the --bandwidth cap the migration would have (the forecast uses it as the link rate)',
      numeric({ name: 'bandwidth', min: 0, max: LIMITS.mibPerSecond }),
    )
    .option(
      '--timeout <seconds>',
      'the --timeout the migration would have (the forecast stops there)',
      numeric({ name: 'timeout', min: 1, max: LIMITS.seconds }),
    )
    .option('--auto-converge', 'the migration would throttle the guest (the forecast models it)')
    .option('--postcopy', 'the migration could switch to post-copy (the forecast says when every page would be there)')
    .option(
      '--dirty-rate-window <ms>',
      "how long QEMU measures the guest's dirty rate for the forecast, in ms (QEMU's least is 50), 0 not at all (default: ferryd.conf's migrate_dirty_rate_window_ms, 100)",
      numeric({ name: 'dirty-rate-window', min: 0, max: 60_000 }),
    )
    .option('--policy <name>', `the policy the migration would follow: ${POLICY_NAMES.join(', ')}`)
    .option(
      '--max-downtime <ms>',
      'the downtime promise',
      numeric({ name: 'max-downtime', min: 1, max: LIMITS.downtimeMs, belowMin: 'migrate: Invalid downtime' }),
    )
    .option('--deadline <seconds>', 'the deadline the policy would work to', numeric({ name: 'deadline', min: 1, max: LIMITS.seconds }))
    .option('--json', 'print the checks and the forecast as JSON: {"results": [...], "failed": [...], "warnings": [...], "forecast": {...}}')
    .addHelpText(
      'after',
      "\nChecks: storage, unmanaged disks, networks and bridges, QEMU version and machine type, clock,\nname resolution, disk cache modes, host devices, CPU, memory and vCPUs, migration ports,\nleases and jobs, QEMU's own blockers, the TCG dirty-tracking fix, and with --tls (or migrate_tls_force)\nboth hosts' TLS certificates. Exit status 1 when any fails.\n\nThen the forecast of a live migration of a running domain (docs/forecast.md): the expected total\ntime, the passes, the downtime at switch-over and whether it converges, from the guest's dirty rate\n(measured by QEMU while the checks run), its resident memory and the link (--bandwidth, else the\nlast migration to that destination, else an assumed 1 GiB/s).\n",
    )
    .action(async (ref: string, dest: string, f: MigrateFlags & { json?: boolean }) => {
      const options = migrationOptionsFrom({ live: !f.offline, persistent: true, ...f });
      await printChecks(ctx, ref, dest, options, f.json ?? false);
    });
}
