import { FerryError } from '../errors/ferry-error.js';
import type { FerryDatabase } from '../store/database.js';
import { parseSecretXml, type SecretDefinition, type SecretUsageType } from './secret-xml.js';

interface Row {
  uuid: string;
  usage_type: string;
  usage_id: string | null;
  xml: string;
  value: Buffer | null;
}

export interface SecretRecord {
  def: SecretDefinition;
  hasValue: boolean;
}

/**
 * Secrets in the state database (the state directory is root's alone, so
 * are their values). An ephemeral secret's value is kept in ferryd's memory
 * only, as libvirt keeps it, and is gone when ferryd stops.
 */
export class SecretStore {
  private readonly ephemeralValues = new Map<string, Buffer>();

  constructor(private readonly db: FerryDatabase) {}

  list(): SecretRecord[] {
    return (this.db.prepare('SELECT * FROM secrets ORDER BY uuid').all() as Row[]).map((r) => this.record(r));
  }

  get(uuid: string): SecretRecord | undefined {
    const r = this.db.prepare('SELECT * FROM secrets WHERE uuid = ?').get(uuid) as Row | undefined;
    return r && this.record(r);
  }

  findByUsage(type: SecretUsageType, id: string): SecretRecord | undefined {
    const r = this.db.prepare('SELECT * FROM secrets WHERE usage_type = ? AND usage_id = ?').get(type, id) as Row | undefined;
    return r && this.record(r);
  }

  /** Defines a secret, or redefines the one with its uuid (its value is kept, as libvirt keeps it). */
  save(def: SecretDefinition, xml: string): void {
    this.db.transaction(() => {
      const other = this.findByUsage(def.usage.type, def.usage.id);
      if (other && other.def.uuid !== def.uuid) {
        throw new FerryError('SECRET_EXISTS', `operation failed: a secret with UUID ${other.def.uuid} already defined for use with ${def.usage.id}`, {
          details: { uuid: other.def.uuid },
        });
      }
      this.db
        .prepare(
          'INSERT INTO secrets (uuid, usage_type, usage_id, xml) VALUES (?, ?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET usage_type = excluded.usage_type, usage_id = excluded.usage_id, xml = excluded.xml',
        )
        .run(def.uuid, def.usage.type, def.usage.id, xml);
    })();
  }

  setValue(uuid: string, value: Buffer): void {
    const rec = this.get(uuid);
    if (!rec) return;
    if (rec.def.ephemeral) {
      this.ephemeralValues.set(uuid, Buffer.from(value));
      return;
    }
    this.db.prepare('UPDATE secrets SET value = ? WHERE uuid = ?').run(value, uuid);
  }

  value(uuid: string): Buffer | undefined {
    const mem = this.ephemeralValues.get(uuid);
    if (mem) return mem;
    const r = this.db.prepare('SELECT value FROM secrets WHERE uuid = ?').get(uuid) as { value: Buffer | null } | undefined;
    return r?.value ?? undefined;
  }

  delete(uuid: string): void {
    this.ephemeralValues.delete(uuid);
    this.db.prepare('DELETE FROM secrets WHERE uuid = ?').run(uuid);
  }

  private record(r: Row): SecretRecord {
    return { def: parseSecretXml(r.xml), hasValue: r.value !== null || this.ephemeralValues.has(r.uuid) };
  }
}
