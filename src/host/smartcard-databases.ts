import { existsSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition } from '../vm/definition.js';
import { smartcardDatabases } from '../vm/devices/smartcard.js';

/** The files of an NSS database QEMU's libcacard reads (NSS_Init: read-only): sql format, then the legacy dbm one. */
export const NSS_DATABASE_FILES = ['cert9.db', 'key4.db', 'pkcs11.txt', 'cert8.db', 'key3.db', 'secmod.db'] as const;

/** Why a directory is not an NSS database QEMU can read certificates from, or undefined when it is one. */
export function nssDatabaseProblem(
  dir: string,
  stat: (path: string) => Stats | undefined = statOrUndefined,
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  const st = stat(dir);
  if (!st) return `no NSS database directory '${dir}'`;
  if (!st.isDirectory()) return `'${dir}' is not a directory (an NSS database is a directory holding cert9.db)`;
  if (!exists(join(dir, 'cert9.db')) && !exists(join(dir, 'cert8.db'))) return `'${dir}' holds no NSS database (neither cert9.db nor cert8.db)`;
  return undefined;
}

/**
 * Refuses a start whose <smartcard mode='host-certificates'> names an NSS
 * database that is not there: QEMU's libcacard would fail to open it and
 * QEMU exit with "failed to initialize vcard". Checked on every start, a
 * migration's destination included (the database is host state: each host
 * needs its own copy). Whether the three nicknames are in it is QEMU's to say.
 */
export function checkSmartcardDatabases(live: DomainDefinition, problem: (dir: string) => string | undefined = nssDatabaseProblem): void {
  for (const dir of smartcardDatabases(live)) {
    const why = problem(dir);
    if (why === undefined) continue;
    throw new FerryError('SMARTCARD_DATABASE_MISSING', `<smartcard mode='host-certificates'>: ${why}: QEMU emulates the card from the certificates in it`, {
      details: { database: dir },
    });
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
