import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseConfFile } from '../common/config-file.js';
import { FerryError } from '../errors/ferry-error.js';

export const SYSTEM_CLIENT_CONFIG = '/etc/ferry/ferry.conf';

/** The user's client config: $XDG_CONFIG_HOME/ferry/ferry.conf, else ~/.config/ferry/ferry.conf. */
export function userClientConfigPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || os.homedir(), '.config');
  return join(base, 'ferry', 'ferry.conf');
}

/** What the client config files say (libvirt.conf's keys), each value with the file it came from. */
export interface ClientConfig {
  uriDefault?: { uri: string; source: string };
  /** Alias name → URI, from the file that set uri_aliases. */
  aliases: Map<string, string>;
}

/** libvirt's URI_ALIAS_CHARS. */
const ALIAS_NAME = /^[A-Za-z0-9_-]+$/;

/** True when a -c value can be an alias (libvirt: only these characters; a URI has a ':'). */
export function mayBeAlias(name: string): boolean {
  return ALIAS_NAME.test(name);
}

const invalid = (message: string): FerryError => new FerryError('CLIENT_CONFIG_INVALID', message);

function readOne(path: string, into: ClientConfig): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw invalid(`cannot read ${path}: ${(err as Error).message}`);
  }
  let entries;
  try {
    entries = parseConfFile(text, path);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  for (const [key, { value, line }] of entries) {
    const where = `${path}:${line}`;
    if (key === 'uri_default') {
      if (typeof value !== 'string' || value === '') throw invalid(`${where}: uri_default must be a URI in quotes, such as "ferry:///system"`);
      into.uriDefault = { uri: value, source: path };
    } else if (key === 'uri_aliases') {
      if (!Array.isArray(value)) throw invalid(`${where}: uri_aliases must be a list of "name=URI" strings`);
      const aliases = new Map<string, string>();
      for (const entry of value) {
        const eq = entry.indexOf('=');
        if (eq < 0 || eq === entry.length - 1) throw invalid(`${where}: Malformed 'uri_aliases' config entry '${entry}', expected 'alias=uri://host/path'`);
        const name = entry.slice(0, eq);
        if (!ALIAS_NAME.test(name)) throw invalid(`${where}: Malformed 'uri_aliases' config entry '${entry}', aliases may only contain 'a-Z, 0-9, _, -'`);
        // libvirt takes the first entry of a name.
        if (!aliases.has(name)) aliases.set(name, entry.slice(eq + 1));
      }
      into.aliases = aliases;
    } else {
      throw invalid(`${where}: unknown setting '${key}' (a client config sets uri_default and uri_aliases)`);
    }
  }
}

/**
 * Reads the system's client config, then the user's: a key the user's file
 * sets wins over the system's (uri_aliases as a whole). A missing file is
 * no error; an unreadable or malformed one is CLIENT_CONFIG_INVALID.
 */
export function loadClientConfig(env: NodeJS.ProcessEnv, paths: string[] = [SYSTEM_CLIENT_CONFIG, userClientConfigPath(env)]): ClientConfig {
  const config: ClientConfig = { aliases: new Map() };
  for (const p of paths) readOne(p, config);
  return config;
}
