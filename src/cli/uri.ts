import os from 'node:os';
import { join } from 'node:path';
import { type ConnectionTarget, parseConnectionUri } from '../transport/connection-uri.js';

export { SYSTEM_SOCKET, type ConnectionTarget, type Transport } from '../transport/connection-uri.js';

export function sessionSocket(): string {
  const runtime = process.env.XDG_RUNTIME_DIR ?? join(os.homedir(), '.cache');
  return join(runtime, 'ferry', 'ferryd.sock');
}

/** The URI to use when none is given: FERRY_DEFAULT_URI, else the system daemon for root and the session one otherwise. */
export function defaultUri(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FERRY_DEFAULT_URI) return env.FERRY_DEFAULT_URI;
  return process.getuid?.() === 0 ? 'ferry:///system' : 'ferry:///session';
}

/**
 * Parses ferry:///system, ferry:///session, ferry:///system?socket=/path and
 * the remote forms (ferry+ssh://user@host/system, ferry+tls://host:16520/system);
 * qemu:// spellings are accepted as aliases so virsh command lines work unchanged.
 */
export function parseUri(uri: string): ConnectionTarget {
  return parseConnectionUri(uri, { sessionSocket });
}
