import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { nvramPathOf, removeNvram, writeNvram } from '../host/nvram-store.js';
import type { DomainDefinition } from '../vm/definition.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml } from '../vm/render-domain-xml.js';

/**
 * The migration cookie's NVRAM section: the domain's UEFI variable store goes
 * with it. `auto`: the path is the source host's default (STATE_DIR/nvram/
 * NAME_VARS.fd), so the destination keeps it at its own default. `probe`: a
 * file the source put next to its store; a destination that sees it at the
 * same path shares the storage, and then nothing is copied or removed.
 */
export interface NvramSection {
  path: string;
  auto: boolean;
  format: 'raw' | 'qcow2';
  /** The store's bytes (base64) when the cookie was made (a live migration's QEMU rewrites them from the stream on resume). */
  data: string;
  probe: string;
}

/** Where the destination keeps what arrived, and whether it shares the source's file. */
export interface NvramArrival {
  path: string;
  shared: boolean;
  /** The store did not exist here before (removed again when the migration fails). */
  created: boolean;
}

const probeOf = (path: string, migrationId: string): string => `${path}.ferry-probe-${migrationId}`;

/** Source: the section for a domain with a variable store (read now), and its shared-storage probe. */
export function nvramSection(def: DomainDefinition, defaultPath: (format: 'raw' | 'qcow2') => string, migrationId: string): NvramSection | undefined {
  const path = nvramPathOf(def);
  if (path === undefined || !existsSync(path)) return undefined;
  const format = def.os.firmware?.nvram?.format ?? 'raw';
  let data: Buffer;
  try {
    data = readFileSync(path);
    writeFileSync(probeOf(path, migrationId), migrationId, { mode: 0o600 });
  } catch (err) {
    throw new FerryError('NVRAM_FAILED', `operation failed: cannot read the NVRAM ${path} to migrate it: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
  return { path, auto: path === defaultPath(format), format, data: data.toString('base64'), probe: migrationId };
}

/** Source: the probe goes once the destination has looked. */
export function removeNvramProbe(section: NvramSection | undefined): void {
  if (section) rmSync(probeOf(section.path, section.probe), { force: true });
}

/** Source, --undefinesource: the store goes with the definition, unless the destination uses the very same file. */
export function removeSourceNvram(section: NvramSection | undefined, shared: boolean | undefined): void {
  if (section && shared === false) removeNvram(section.path);
}

/** Destination: the local path of the store, and the copy written there unless the storage is shared. */
export function receiveNvram(section: NvramSection, defaultPath: (format: 'raw' | 'qcow2') => string, migrationId: string): NvramArrival {
  const path = section.auto ? defaultPath(section.format) : section.path;
  let probe = '';
  try {
    probe = readFileSync(probeOf(path, migrationId), 'utf8');
  } catch {
    // Not there: this host does not share the source's store.
  }
  if (probe === section.probe) return { path, shared: true, created: false };
  const created = !existsSync(path);
  writeNvram(path, Buffer.from(section.data, 'base64'));
  return { path, shared: false, created };
}

/** The definition with its store at this host's path. */
export function withNvramPath(def: DomainDefinition, path: string): DomainDefinition {
  const fw = def.os.firmware;
  if (!fw?.nvram || fw.nvram.path === path) return def;
  return { ...def, os: { ...def.os, firmware: { ...fw, nvram: { ...fw.nvram, path } } } };
}

/** The same for a definition as XML (the persistent definition a Finish saves). */
export function withNvramPathXml(xml: string, path: string | undefined): string {
  if (path === undefined) return xml;
  const def = parseDomainXml(xml);
  const moved = withNvramPath(def, path);
  return moved === def ? xml : renderDomainXml(moved);
}
