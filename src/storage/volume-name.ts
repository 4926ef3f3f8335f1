import { FerryError } from '../errors/ferry-error.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** Names with control characters are never volumes (libvirt skips such files when it lists a pool). */
export function hasControlChars(name: string): boolean {
  return CONTROL.test(name);
}

/** A volume of a directory pool is a file in it: its name is one file name (libvirt's "volume name '...' cannot contain '/'"). */
export function assertVolumeName(name: string): void {
  const hint = "A volume name is a file name in the pool: no '/', not '.' or '..', no control characters (names starting with a dot are fine)";
  if (name.includes('/')) throw new FerryError('INVALID_ARGUMENT', `volume name '${name}' cannot contain '/'`, { hint });
  if (name === '' || name === '.' || name === '..' || hasControlChars(name))
    throw new FerryError('INVALID_ARGUMENT', `invalid volume name '${name.replace(new RegExp(CONTROL.source, 'g'), '?')}'`, { hint });
}
