import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition } from '../vm/definition.js';
import { hasNvram } from '../vm/firmware.js';
import { describeNvramNetwork } from '../vm/nvram-network.js';

/** The domain's NVRAM path, when its firmware keeps variables in a file. */
export function nvramPathOf(def: DomainDefinition): string | undefined {
  const fw = def.os.firmware;
  return fw && hasNvram(fw) && fw.loader?.readonly !== false ? fw.nvram?.path : undefined;
}

/**
 * The domain's NVRAM on network storage (<nvram type='network'>), as nbd://host:port/export:
 * shared storage ferry never creates, copies (migrations) nor removes (undefine --nvram).
 */
export function networkNvramOf(def: DomainDefinition): string | undefined {
  const n = def.os.firmware?.nvram?.network;
  return n && hasNvram(def.os.firmware) ? describeNvramNetwork(n) : undefined;
}

/**
 * Creates a domain's variable store from its template before QEMU first
 * starts (libvirt's qemuPrepareNVRAM); an existing store is kept, since it
 * holds the guest's variables. Returns whether it created one.
 */
export function ensureNvram(def: DomainDefinition): boolean {
  const path = nvramPathOf(def);
  if (path === undefined || existsSync(path)) return false;
  const template = def.os.firmware?.nvram?.template;
  if (template === undefined) {
    throw new FerryError(
      'NVRAM_FAILED',
      `operation failed: unable to find any master var store for loader: ${def.os.firmware?.loader?.path ?? '(none)'}: give <nvram template=...>`,
      { details: { element: 'nvram', path } },
    );
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
    const tmp = `${path}.ferry-new`;
    copyFileSync(template, tmp);
    renameSync(tmp, path);
  } catch (err) {
    throw new FerryError('NVRAM_FAILED', `operation failed: cannot create the NVRAM ${path} from its template ${template}: ${(err as Error).message}`, {
      cause: err,
      details: { element: 'nvram', path },
    });
  }
  return true;
}

/** Writes a store received from another host (a migration), atomically: a half-written store never replaces a whole one. */
export function writeNvram(path: string, data: Buffer): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
    const tmp = `${path}.ferry-new`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    throw new FerryError('NVRAM_FAILED', `operation failed: cannot write the NVRAM ${path}: ${(err as Error).message}`, { cause: err, details: { path } });
  }
}

/** Removes a domain's store (undefine --nvram, migrate --undefinesource to a host that does not share it). */
export function removeNvram(path: string): void {
  rmSync(path, { force: true });
}
