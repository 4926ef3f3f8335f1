import { FerryError } from '../errors/ferry-error.js';

/** Splits a `host:port` listen address (IPv6 hosts in brackets); `key` names the setting in the error. */
export function splitHostPort(value: string, key: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  if (!m) throw new FerryError('CONFIG_INVALID', `${key} must be host:port, not '${value}'`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
