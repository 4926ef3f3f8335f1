import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition } from './definition.js';
import { DISK_CACHE_MODES, DISK_IO_MODES } from '../shared/disk-modes.js';
import type { DiskEdit } from '../shared/api-types.js';

/** Applies an edit to the disk with the given target; returns a new definition. */
export function applyDiskEdit(def: DomainDefinition, target: string, edit: DiskEdit): DomainDefinition {
  const next = structuredClone(def);
  const disk = next.devices.disks.find((d) => d.target.dev === target);
  if (!disk) {
    throw new FerryError('DISK_NOT_FOUND', `No disk found whose source path or target is ${target}`, { details: { target } });
  }
  if (edit.cache !== undefined) {
    if (!DISK_CACHE_MODES.includes(edit.cache)) throw new FerryError('INVALID_ARGUMENT', `unknown cache mode '${edit.cache}'`);
    disk.cache = edit.cache;
  }
  if (edit.io !== undefined) {
    if (!DISK_IO_MODES.includes(edit.io)) throw new FerryError('INVALID_ARGUMENT', `unknown io mode '${edit.io}'`);
    disk.io = edit.io;
  }
  if (edit.readonly !== undefined) disk.readonly = edit.readonly;
  if (edit.shareable !== undefined) disk.shareable = edit.shareable;
  if (edit.source !== undefined) {
    if (disk.type === 'file') disk.source = { file: edit.source };
    else if (disk.type === 'block') disk.source = { dev: edit.source };
    else throw new FerryError('INVALID_ARGUMENT', `disk '${target}' is of type '${disk.type}': its source cannot be set to a path`);
  }
  if (disk.io === 'native' && disk.cache !== 'none' && disk.cache !== 'directsync') {
    throw new FerryError('XML_INVALID', `XML error: disk '${target}': native I/O needs either no disk cache or directsync cache mode in <driver>`);
  }
  return next;
}
