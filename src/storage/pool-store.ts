import { FerryError } from '../errors/ferry-error.js';
import type { FerryDatabase } from '../store/database.js';

export interface PoolRecord {
  uuid: string;
  name: string;
  xml: string;
  active: boolean;
  autostart: boolean;
}

interface Row {
  uuid: string;
  name: string;
  xml: string;
  active: number;
  autostart: number;
}

const toRecord = (r: Row): PoolRecord => ({ uuid: r.uuid, name: r.name, xml: r.xml, active: r.active === 1, autostart: r.autostart === 1 });

/** Storage pool definitions and their state, in the state database. */
export class PoolStore {
  constructor(private readonly db: FerryDatabase) {}

  list(): PoolRecord[] {
    return (this.db.prepare('SELECT * FROM pools ORDER BY name').all() as Row[]).map(toRecord);
  }

  findByName(name: string): PoolRecord | undefined {
    const r = this.db.prepare('SELECT * FROM pools WHERE name = ?').get(name) as Row | undefined;
    return r && toRecord(r);
  }

  get(uuid: string): PoolRecord | undefined {
    const r = this.db.prepare('SELECT * FROM pools WHERE uuid = ?').get(uuid) as Row | undefined;
    return r && toRecord(r);
  }

  save(uuid: string, name: string, xml: string): void {
    this.db.transaction(() => {
      const byName = this.findByName(name);
      if (byName && byName.uuid !== uuid) throw new FerryError('POOL_EXISTS', `operation failed: pool '${name}' already exists with uuid ${byName.uuid}`);
      const byUuid = this.get(uuid);
      if (byUuid && byUuid.name !== name) throw new FerryError('POOL_EXISTS', `operation failed: pool '${byUuid.name}' already exists with uuid ${uuid}`);
      if (byUuid) this.db.prepare('UPDATE pools SET xml = ? WHERE uuid = ?').run(xml, uuid);
      else this.db.prepare('INSERT INTO pools (uuid, name, xml, active, autostart) VALUES (?, ?, ?, 0, 0)').run(uuid, name, xml);
    })();
  }

  setActive(uuid: string, active: boolean): void {
    this.db.prepare('UPDATE pools SET active = ? WHERE uuid = ?').run(active ? 1 : 0, uuid);
  }

  setAutostart(uuid: string, autostart: boolean): void {
    this.db.prepare('UPDATE pools SET autostart = ? WHERE uuid = ?').run(autostart ? 1 : 0, uuid);
  }

  remove(uuid: string): void {
    this.db.prepare('DELETE FROM pools WHERE uuid = ?').run(uuid);
  }
}
