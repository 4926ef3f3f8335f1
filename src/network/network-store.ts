import { FerryError } from '../errors/ferry-error.js';
import type { FerryDatabase } from '../store/database.js';

export interface NetworkRecord {
  uuid: string;
  name: string;
  /** The definition (net-dumpxml). */
  xml: string;
  active: boolean;
  autostart: boolean;
  /** false for a network from net-create, or one undefined while active: gone when destroyed. */
  persistent: boolean;
  /** The bridge the active network uses (decided at net-start; a redefinition waits for the next start). */
  bridge: string | null;
  /** ferry created that bridge at net-start and deletes it at net-destroy. */
  bridgeCreated: boolean;
}

interface Row {
  uuid: string;
  name: string;
  xml: string;
  active: number;
  autostart: number;
  persistent: number;
  bridge: string | null;
  bridge_created: number;
}

const toRecord = (r: Row): NetworkRecord => ({
  uuid: r.uuid,
  name: r.name,
  xml: r.xml,
  active: r.active === 1,
  autostart: r.autostart === 1,
  persistent: r.persistent === 1,
  bridge: r.bridge,
  bridgeCreated: r.bridge_created === 1,
});

/** Virtual network definitions and their state, in the state database. */
export class NetworkStore {
  constructor(private readonly db: FerryDatabase) {}

  list(): NetworkRecord[] {
    return (this.db.prepare('SELECT * FROM networks ORDER BY name').all() as Row[]).map(toRecord);
  }

  findByName(name: string): NetworkRecord | undefined {
    const r = this.db.prepare('SELECT * FROM networks WHERE name = ?').get(name) as Row | undefined;
    return r && toRecord(r);
  }

  get(uuid: string): NetworkRecord | undefined {
    const r = this.db.prepare('SELECT * FROM networks WHERE uuid = ?').get(uuid) as Row | undefined;
    return r && toRecord(r);
  }

  /** Inserts a definition, or replaces the XML of the one with the same uuid (and makes it persistent when `persistent`). */
  save(uuid: string, name: string, xml: string, options: { persistent: boolean }): void {
    this.db.transaction(() => {
      const byName = this.findByName(name);
      if (byName && byName.uuid !== uuid)
        throw new FerryError('NET_EXISTS', `operation failed: network '${name}' already exists with uuid ${byName.uuid}`, { details: { network: name } });
      const byUuid = this.get(uuid);
      if (byUuid && byUuid.name !== name)
        throw new FerryError('NET_EXISTS', `operation failed: network '${byUuid.name}' already exists with uuid ${uuid}`, {
          details: { network: byUuid.name },
        });
      if (byUuid) this.db.prepare('UPDATE networks SET xml = ?, persistent = MAX(persistent, ?) WHERE uuid = ?').run(xml, options.persistent ? 1 : 0, uuid);
      else this.db.prepare('INSERT INTO networks (uuid, name, xml, persistent) VALUES (?, ?, ?, ?)').run(uuid, name, xml, options.persistent ? 1 : 0);
    })();
  }

  setActive(uuid: string, bridge: string, created: boolean): void {
    this.db.prepare('UPDATE networks SET active = 1, bridge = ?, bridge_created = ? WHERE uuid = ?').run(bridge, created ? 1 : 0, uuid);
  }

  setInactive(uuid: string): void {
    this.db.prepare('UPDATE networks SET active = 0, bridge = NULL, bridge_created = 0 WHERE uuid = ?').run(uuid);
  }

  setAutostart(uuid: string, autostart: boolean): void {
    this.db.prepare('UPDATE networks SET autostart = ? WHERE uuid = ?').run(autostart ? 1 : 0, uuid);
  }

  /** An active network undefined: it stays up, transient, until net-destroy. */
  makeTransient(uuid: string): void {
    this.db.prepare('UPDATE networks SET persistent = 0, autostart = 0 WHERE uuid = ?').run(uuid);
  }

  remove(uuid: string): void {
    this.db.prepare('DELETE FROM networks WHERE uuid = ?').run(uuid);
  }
}
