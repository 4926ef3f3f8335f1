import type { DomainInfo } from '../../shared/api-types.js';
import { STATE_LABEL } from '../../shared/domain-state.js';
import { formatFields } from '../format.js';

/**
 * What `dominfo`, `domstate`, `domid`, `domname` and `domuuid` print, in
 * virsh's words: shared by the commands (commands/info.ts) and the CLI's fast
 * path (fast-path.ts), so both print the same.
 */
export function renderDominfo(d: DomainInfo): string {
  const fields: Array<[string, string]> = [
    ['Id', d.id === null ? '-' : String(d.id)],
    ['Name', d.name],
    ['UUID', d.uuid],
    ['OS Type', d.osType],
    ['State', STATE_LABEL[d.state]],
    ['CPU(s)', String(d.vcpus)],
  ];
  if (d.cpuTimeSeconds !== null) fields.push(['CPU time', `${d.cpuTimeSeconds.toFixed(1)}s`]);
  fields.push(
    ['Max memory', `${d.maxMemoryKiB} KiB`],
    ['Used memory', `${d.usedMemoryKiB} KiB`],
    ['Persistent', d.persistent ? 'yes' : 'no'],
    ['Autostart', d.autostart ? 'enable' : 'disable'],
    ['Managed save', d.managedSave ? 'yes' : 'no'],
    ['Security model', 'dac'],
    ['Security DOI', '0'],
  );
  if (d.securityLabel) fields.push(['Security label', `${d.securityLabel} (enforcing)`]);
  if (d.taints.length > 0) fields.push(['Tainted', d.taints.join(', ')]);
  return `${formatFields(fields, 16)}\n`;
}

export interface DomainStateReply {
  state: keyof typeof STATE_LABEL;
  reason: string;
}

export function renderDomstate(s: DomainStateReply, reason: boolean): string {
  return `${STATE_LABEL[s.state]}${reason ? ` (${s.reason})` : ''}\n\n`;
}

/** domid, domname, domuuid: the field each prints. */
export const DOMAIN_FIELD_VERBS = [
  ['domid', 'id', 'convert a domain name or UUID to domain id'],
  ['domname', 'name', 'convert a domain id or UUID to domain name'],
  ['domuuid', 'uuid', 'convert a domain name or id to domain UUID'],
] as const;

export function renderDomainField(d: DomainInfo, field: 'id' | 'name' | 'uuid'): string {
  const v = d[field];
  return `${v === null ? '-' : String(v)}\n\n`;
}

/** The API paths: a domain's information, and its state. */
export const domainInfoPath = (ref: string): string => `/v1/domains/${encodeURIComponent(ref)}`;
export const domainStatePath = (ref: string): string => `/v1/domains/${encodeURIComponent(ref)}/state`;
