import type { MigrationForecast } from '../../shared/migration-forecast.js';

const MiB = 1024 * 1024;

/** migrate-check's forecast, printed after the check table (docs/forecast.md). */
export function formatForecast(f: MigrationForecast): string {
  const i = f.inputs;
  const passes = `${f.passes} pass${f.passes === 1 ? '' : 'es'}`;
  const lines: Array<[string, string]> = [];
  if (f.converges) {
    lines.push(['Expected total time', `${seconds(f.totalSeconds)} (${passes}, then the switch-over)`]);
    lines.push(['Downtime at switch-over', `${Math.round(f.downtimeMs ?? 0)} ms (limit ${i.downtimeLimitMs.join(', ')} ms)`]);
    lines.push(['Converges', 'yes']);
  } else {
    lines.push(['Expected total time', `never finishes by itself: still copying after ${seconds(f.totalSeconds)} (${passes})`]);
    lines.push(['Downtime at switch-over', `no switch-over (limit ${i.downtimeLimitMs.join(', ')} ms)`]);
    const stall = f.firstStall !== undefined ? `: from pass ${f.firstStall} each pass leaves about as much as the one before` : '';
    lines.push(['Converges', `no${stall}`]);
  }
  if (f.postcopy) {
    lines.push(['With post-copy', `switch after ${seconds(f.postcopy.switchAtSeconds)}, every page there by ${seconds(f.postcopy.totalSeconds)}`]);
  }
  lines.push(['First pass', `${mib(i.firstPassBytes)} of ${mib(i.guestRamBytes)} (${FIRST_PASS[i.firstPassSource]})`]);
  lines.push(['Dirty rate', dirtyRate(f)]);
  lines.push(['Link', `${mib(i.linkBytesPerSec)}/s (${linkSource(i)})`]);
  if (i.setupSeconds !== undefined) lines.push(['QEMU setup', `${seconds(i.setupSeconds)} (the median of the earlier migrations to this destination)`]);
  // What the policy will do and when (docs/policies.md: the planner's steps).
  if (f.policy) {
    lines.push(['Policy', `${f.policy.policy}: ${f.policy.summary}`]);
    for (const s of f.policy.steps) lines.push(['', `${whenText(s)}: ${s.action} (${s.reason})`]);
  }
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  return `Forecast:\n${lines.map(([k, v]) => `  ${(k ? `${k}:` : '').padEnd(width)} ${v}`).join('\n')}\n`;
}

const FIRST_PASS: Record<MigrationForecast['inputs']['firstPassSource'], string> = {
  'resident-memory': 'the guest RAM QEMU holds resident',
  'previous-migration': "what the domain's last migration sent",
  'guest-ram': 'all of its RAM: nothing better known',
};

const LINK: Record<MigrationForecast['inputs']['linkSource'], string> = {
  'bandwidth-cap': 'the --bandwidth cap',
  'previous-migration': 'earlier migrations to this destination',
  assumed: 'assumed: no earlier migration to this destination',
};

function linkSource(i: MigrationForecast['inputs']): string {
  if (i.linkSource === 'previous-migration' && i.linkSamples !== undefined && i.linkSamples > 1) {
    return `the median of the last ${i.linkSamples} migrations to this destination`;
  }
  return i.linkSource === 'previous-migration' ? 'the last migration to this destination' : LINK[i.linkSource];
}

function dirtyRate(f: MigrationForecast): string {
  const i = f.inputs;
  const rate = `${(i.dirtyBytesPerSec / MiB).toFixed(1)} MiB/s`;
  if (i.dirtyRateSource === 'measured' && i.dirtyRate) return `${rate} (measured by QEMU, ${i.dirtyRate.mode} over ${i.dirtyRate.windowMs} ms)`;
  if (i.dirtyRateSource === 'paused') return `${rate} (the guest is paused for the copy; --live keeps it running)`;
  return `not measured, taken as 0${i.dirtyRateError ? `: ${i.dirtyRateError}` : ''}`;
}

function whenText(s: NonNullable<MigrationForecast['policy']>['steps'][number]): string {
  switch (s.when) {
    case 'start':
      return 'at the start';
    case 'stall':
      return 'if a pass stalls';
    case 'deadline':
      return `at the deadline (${seconds(s.atSeconds)})`;
    case 'pass':
      return `at ${seconds(s.atSeconds)}`;
  }
}

function seconds(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

function mib(bytes: number): string {
  return bytes >= 10 * 1024 * MiB ? `${(bytes / 1024 / MiB).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`;
}
