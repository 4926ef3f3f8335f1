import type { DomainSummary } from '../../shared/api-types.js';
import { STATE_LABEL } from '../../shared/domain-state.js';
import { formatTable } from '../format.js';

/**
 * `ferry list`: its flags (virsh's), the request they make and the text they
 * print. Shared by the command (commander, commands/list.ts) and the CLI's
 * fast path (fast-path.ts), so both take the same flags and print the same.
 */
export const LIST_FLAGS = [
  ['--all', 'list inactive and active domains'],
  ['--inactive', 'list inactive domains'],
  ['--persistent', 'list persistent domains'],
  ['--transient', 'list transient domains'],
  ['--state-running', 'list domains in running state'],
  ['--state-paused', 'list domains in paused state'],
  ['--state-shutoff', 'list domains in shutoff state'],
  ['--state-other', 'list domains in other states'],
  ['--with-managed-save', 'list domains with managed save state'],
  ['--without-managed-save', 'list domains without managed save'],
  ['--managed-save', 'mark inactive domains with managed save state'],
  ['--name', 'list domain names only'],
  ['--uuid', "list uuid's only"],
  ['--table', 'list table (default)'],
] as const;

export interface ListOptions {
  all?: boolean;
  inactive?: boolean;
  name?: boolean;
  uuid?: boolean;
  table?: boolean;
  persistent?: boolean;
  transient?: boolean;
  stateRunning?: boolean;
  statePaused?: boolean;
  stateShutoff?: boolean;
  stateOther?: boolean;
  withManagedSave?: boolean;
  withoutManagedSave?: boolean;
  managedSave?: boolean;
}

export type ListedDomain = DomainSummary & { managedSave?: boolean };

/** The API path the flags ask for: all domains for --all or a --state-* filter, the inactive ones, or the running ones. */
export function listPath(opts: ListOptions): string {
  const states = opts.stateRunning || opts.statePaused || opts.stateShutoff || opts.stateOther;
  const query = opts.all || states ? '?all=true' : opts.inactive ? '?inactive=true' : '';
  return `/v1/domains${query}`;
}

/** What `ferry list` prints for the daemon's domains: virsh's table, or names and/or uuids one per line. */
export function renderList(all: readonly ListedDomain[], opts: ListOptions, quiet: boolean): string {
  const domains = all.filter((d) => {
    if (opts.persistent && !d.persistent) return false;
    if (opts.transient && d.persistent) return false;
    if (opts.withManagedSave && !d.managedSave) return false;
    if (opts.withoutManagedSave && d.managedSave) return false;
    if (opts.stateRunning || opts.statePaused || opts.stateShutoff || opts.stateOther) {
      const other = !['running', 'paused', 'shutoff'].includes(d.state);
      return (
        (opts.stateRunning && d.state === 'running') ||
        (opts.statePaused && d.state === 'paused') ||
        (opts.stateShutoff && d.state === 'shutoff') ||
        (opts.stateOther && other)
      );
    }
    return true;
  });
  if (opts.name || opts.uuid) {
    const lines = domains.map((d) => (opts.name && opts.uuid ? `${d.uuid} ${d.name}` : opts.name ? d.name : d.uuid));
    return lines.map((l) => `${l}\n`).join('') + '\n';
  }
  // --managed-save: a shut-off domain with an image shows as "saved", as virsh does.
  const rows = domains.map((d) => [d.domainId === null ? '-' : String(d.domainId), d.name, opts.managedSave && d.managedSave ? 'saved' : STATE_LABEL[d.state]]);
  return `${formatTable(['Id', 'Name', 'State'], rows, { header: !quiet })}\n`;
}
