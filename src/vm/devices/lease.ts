import { child, el, type XmlElement } from '../../shared/xml.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';

/**
 * <lease>: a lock the domain holds in ferry's lock manager for as long as it
 * runs, besides its disk leases (libvirt's lock-manager lease). As libvirt's
 * lockd driver reads it, the lease is the lock file <target path>/<lockspace>/<key>
 * (no lockspace: <target path>/<key>); its offset must be 0 (an offset places a
 * sanlock lease inside a shared file, which ferry's lock manager does not do).
 * Taken before QEMU starts, released when it stops, handed over in a migration
 * with the disk leases (src/locking/lease-resources.ts).
 */
export interface LeaseDefinition {
  /** <lockspace>: empty or absent puts the lock file directly in the target path. */
  lockspace?: string;
  /** <key>: the lease's name, and the lock file's. */
  key: string;
  /** <target path offset>: the directory of the lockspace; offset kept, shown, and required to be 0 at start. */
  target: { path: string; offset?: number };
}

export const LEASE_RULE: ElementRule = {
  label: (e) => `<lease> '${child(e, 'key')?.text.trim() ?? '?'}'`,
  children: { lockspace: {}, key: {}, target: { attrs: { path: true, offset: true } } },
};

/** A lockspace or key names one path component: no '/', not '.' or '..', no NUL. */
function component(value: string, what: string, key: string): string {
  if (value.includes('/') || value.includes('\0') || value === '.' || value === '..') {
    throw xmlInvalid(what, `<lease> '${key}': ${what} '${value}' must be a plain name (it is a path component of the lock file)`);
  }
  return value;
}

export function parseLease(e: XmlElement): LeaseDefinition {
  const key = child(e, 'key')?.text.trim() ?? '';
  if (!key) throw xmlInvalid('lease', "Missing 'key' element for lease");
  const target = child(e, 'target');
  const path = target?.attrs.path;
  if (!target || !path) throw xmlInvalid('lease', `<lease> '${key}': Missing 'target' element for lease (with path=)`);
  if (!path.startsWith('/')) throw xmlInvalid('target', `<lease> '${key}': the target path '${path}' must be absolute`);
  const lease: LeaseDefinition = { key: component(key, 'key', key), target: { path } };
  const lockspace = child(e, 'lockspace')?.text.trim();
  if (lockspace) lease.lockspace = component(lockspace, 'lockspace', key);
  if (target.attrs.offset !== undefined) {
    const offset = target.attrs.offset.trim();
    if (!/^\d+$/.test(offset) || !Number.isSafeInteger(Number(offset)))
      throw xmlInvalid('target', `<lease> '${key}': malformed lease target offset '${target.attrs.offset}'`);
    lease.target.offset = Number(offset);
  }
  return lease;
}

export function renderLease(l: LeaseDefinition): XmlElement {
  return el('lease', {}, [
    l.lockspace === undefined ? undefined : el('lockspace', {}, l.lockspace),
    el('key', {}, l.key),
    el('target', { path: l.target.path, offset: l.target.offset }),
  ]);
}
