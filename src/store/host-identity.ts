import { randomUUID } from 'node:crypto';
import type { FerryDatabase } from './database.js';

/** This host's stable identity (libvirt's host uuid): created on first start, kept in the state database. */
export function readOrCreateHostId(db: FerryDatabase): string {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'host_uuid'").get() as { value: string } | undefined;
  if (row) return row.value;
  const id = randomUUID();
  db.prepare("INSERT INTO meta (key, value) VALUES ('host_uuid', ?)").run(id);
  return id;
}
