import type { Command } from 'commander';
import { CliFailure } from './context.js';

/** virsh's --live/--config/--current, as the commands that change a running domain or its definition take them. */
export interface AffectOpts {
  domain?: string;
  live?: boolean;
  config?: boolean;
  current?: boolean;
}

/** Adds --live, --config and --current; `what` says what --live changes ("its cgroup", "the vCPU threads"). */
export function withAffectOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--live', `affect the running domain (${what})`)
    .option('--config', 'affect the persistent definition, applied at the next start')
    .option('--current', 'affect the running domain if it runs, else its persistent definition (the default)');
}

/** --live/--config as the API takes them; --current (or neither) leaves the choice to ferryd, as virsh. */
export function affect(o: AffectOpts): { live?: boolean; config?: boolean } {
  if (o.current && (o.live || o.config)) throw new CliFailure(['Options --current and --live/--config are mutually exclusive']);
  return { ...(o.live ? { live: true } : {}), ...(o.config ? { config: true } : {}) };
}

/** The query string for them: ?live=true&config=true. */
export function affectQuery(o: { live?: boolean; config?: boolean }): string {
  const q = [o.live ? 'live=true' : '', o.config ? 'config=true' : ''].filter(Boolean).join('&');
  return q ? `?${q}` : '';
}
