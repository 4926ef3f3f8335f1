import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { FerryError } from '../errors/ferry-error.js';

/** Schema migrations, applied in order; the index + 1 is the schema version. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE domains (
     uuid TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     persistent_xml TEXT,
     live_xml TEXT,
     domain_id INTEGER UNIQUE,
     state TEXT NOT NULL DEFAULT 'shutoff',
     reason TEXT NOT NULL DEFAULT 'unknown',
     autostart INTEGER NOT NULL DEFAULT 0,
     pid INTEGER,
     started_at INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   INSERT INTO meta (key, value) VALUES ('next_domain_id', '1');`,
  `CREATE TABLE migrations (
     id TEXT NOT NULL,
     side TEXT NOT NULL,
     uuid TEXT NOT NULL,
     name TEXT NOT NULL,
     phase TEXT NOT NULL,
     peer TEXT NOT NULL,
     options TEXT NOT NULL,
     data TEXT NOT NULL DEFAULT '{}',
     error TEXT,
     stats TEXT,
     cleanup_done INTEGER NOT NULL DEFAULT 0,
     started_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (id, side)
   );
   CREATE INDEX migrations_by_domain ON migrations (uuid, started_at);
   CREATE TABLE migration_phases (
     id TEXT NOT NULL,
     side TEXT NOT NULL,
     phase TEXT NOT NULL,
     at INTEGER NOT NULL
   );`,
  `CREATE TABLE pools (
     uuid TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     xml TEXT NOT NULL,
     active INTEGER NOT NULL DEFAULT 0,
     autostart INTEGER NOT NULL DEFAULT 0
   );`,
  `CREATE TABLE networks (
     uuid TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     xml TEXT NOT NULL,
     active INTEGER NOT NULL DEFAULT 0,
     autostart INTEGER NOT NULL DEFAULT 0,
     persistent INTEGER NOT NULL DEFAULT 1,
     bridge TEXT,
     bridge_created INTEGER NOT NULL DEFAULT 0
   );`,
  // libvirt's taint flags of a running domain (custom-monitor, ...), comma-separated; cleared when it stops.
  `ALTER TABLE domains ADD COLUMN taints TEXT NOT NULL DEFAULT '';`,
  // libvirt's secret objects (secret-define); value is the secret itself (never logged, never in dumpxml).
  `CREATE TABLE secrets (
     uuid TEXT PRIMARY KEY,
     usage_type TEXT NOT NULL,
     usage_id TEXT,
     xml TEXT NOT NULL,
     value BLOB
   );`,
  // The audit trail (docs/audit.md): one row per state-changing API call, pruned after audit_retention_days.
  `CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     listener TEXT NOT NULL,
     uid INTEGER,
     gid INTEGER,
     pid INTEGER,
     dn TEXT,
     origin TEXT NOT NULL,
     method TEXT NOT NULL,
     route TEXT NOT NULL,
     operation TEXT NOT NULL,
     domain_name TEXT,
     domain_uuid TEXT,
     options TEXT NOT NULL DEFAULT '{}',
     outcome TEXT NOT NULL,
     error_code TEXT,
     duration_ms INTEGER NOT NULL
   );
   CREATE INDEX audit_by_time ON audit (at);
   CREATE INDEX audit_by_domain ON audit (domain_uuid, at);
   CREATE INDEX migrations_by_update ON migrations (updated_at);`,
];

export type FerryDatabase = Database.Database;

/** Opens (and creates or upgrades) the state database in WAL mode. */
export function openDatabase(path: string): FerryDatabase {
  let db: FerryDatabase;
  try {
    db = new Database(path);
  } catch (err) {
    throw new FerryError('STORE_FAILED', `cannot open the state database ${path}: ${(err as Error).message}`, { cause: err });
  }
  // Root's alone: it holds secret values (SQLite gives its -wal and -shm files the database's mode).
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new FerryError('STORE_FAILED', `the state database ${path} has schema ${version}, newer than this ferryd (${MIGRATIONS.length})`);
  }
  const upgrade = db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    }
  });
  upgrade();
  return db;
}
