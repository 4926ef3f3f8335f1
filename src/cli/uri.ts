import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { type ConnectionTarget, parseConnectionUri, readonlySocketOf, SYSTEM_SOCKET } from '../transport/connection-uri.js';
import { type ClientConfig, loadClientConfig, mayBeAlias } from './client-config.js';

export function sessionSocket(): string {
  const runtime = process.env.XDG_RUNTIME_DIR ?? join(os.homedir(), '.cache');
  return join(runtime, 'ferry', 'ferryd.sock');
}

/** True when this process may connect to the unix socket (write permission on it: root, its owner or its group). */
function mayConnect(socket: string): boolean {
  try {
    accessSync(socket, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The built-in default: the system daemon for root and for a user who may use
 * its socket (a member of its group, "ferry"; with -r, the read-only socket
 * every local user may use), the user's own session daemon otherwise.
 */
export function builtinDefaultUri(o: { readonly?: boolean; uid?: number; systemSocket?: string } = {}): string {
  const uid = o.uid ?? process.getuid?.() ?? 0;
  const socket = o.systemSocket ?? SYSTEM_SOCKET;
  if (uid === 0 || mayConnect(o.readonly ? readonlySocketOf(socket) : socket)) return 'ferry:///system';
  return 'ferry:///session';
}

/** What to connect to, and why (`ferry uri` and the docs say the same). */
export interface UriChoice {
  uri: string;
  /** -c, FERRY_DEFAULT_URI, a config file's path, or "built-in default". */
  from: string;
}

/**
 * The URI to use, in libvirt's order: -c/--connect, then $FERRY_DEFAULT_URI,
 * then uri_default in the user's client config, then in the system's
 * (/etc/ferry/ferry.conf), then the built-in default. A name that is an alias
 * in uri_aliases is expanded, whichever of these gave it. LIBVIRT_DEFAULT_URI
 * is not read: it names libvirtd, which may run beside ferryd.
 */
export function chooseUri(o: { connect?: string; env: NodeJS.ProcessEnv; readonly?: boolean; config?: () => ClientConfig }): UriChoice {
  let config: ClientConfig | undefined;
  const conf = (): ClientConfig => (config ??= (o.config ?? (() => loadClientConfig(o.env)))());
  const expand = (c: UriChoice): UriChoice => {
    if (!mayBeAlias(c.uri)) return c;
    const uri = conf().aliases.get(c.uri);
    return uri ? { uri, from: `${c.from}, alias '${c.uri}'` } : c;
  };
  if (o.connect) return expand({ uri: o.connect, from: '-c' });
  if (o.env.FERRY_DEFAULT_URI) return expand({ uri: o.env.FERRY_DEFAULT_URI, from: 'FERRY_DEFAULT_URI' });
  const d = conf().uriDefault;
  if (d) return expand({ uri: d.uri, from: d.source });
  return { uri: builtinDefaultUri({ readonly: o.readonly ?? false }), from: 'built-in default' };
}

/** The URI when -c is not given (kept for callers that only need the string). */
export function defaultUri(env: NodeJS.ProcessEnv = process.env): string {
  return chooseUri({ env }).uri;
}

/**
 * Parses ferry:///system, ferry:///session, ferry:///system?socket=/path and
 * the remote forms (ferry+ssh://user@host/system, ferry+tls://host:16520/system);
 * qemu:// spellings are accepted as aliases so virsh command lines work unchanged.
 */
export function parseUri(uri: string): ConnectionTarget {
  return parseConnectionUri(uri, { sessionSocket });
}
