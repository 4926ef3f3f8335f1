import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainJobs } from '../vm/jobs.js';
import type { PoolBackend } from './backends/pool-backend.js';
import type { PoolDefinition } from './pool-definition.js';
import type { PoolRecord, PoolStore } from './pool-store.js';
import { parsePoolXml, renderPoolXml, validatePool } from './pool-xml.js';
import { assertVolumeName } from './volume-name.js';
import type { PoolType, VolumeInfo, VolumeSpec } from '../shared/volume.js';
import type { PoolSummary } from '../shared/api-types.js';

export interface StorageServiceDeps {
  store: PoolStore;
  backends: Record<PoolType, PoolBackend>;
  /** Serializes operations on one pool (keyed by pool uuid). */
  jobs: DomainJobs;
  log: Logger;
}

/** Storage pools and volumes with libvirt's semantics: the core behind the pool-* and vol-* verbs. */
export class StorageService {
  constructor(private readonly deps: StorageServiceDeps) {}

  // ---- pools ----

  define(xml: string): PoolDefinition {
    const def = parsePoolXml(xml);
    this.deps.store.save(def.uuid, def.name, renderPoolXml(def));
    return def;
  }

  /** pool-define-as: the same definition from flags. */
  defineAs(def: Omit<PoolDefinition, 'uuid'> & { uuid?: string }): PoolDefinition {
    const full: PoolDefinition = { ...def, uuid: def.uuid ?? randomUUID(), target: { path: def.target.path.replace(/\/+$/, '') || def.target.path } };
    validatePool(full);
    return this.define(renderPoolXml(full));
  }

  lookup(name: string): { rec: PoolRecord; def: PoolDefinition } {
    const rec = this.deps.store.findByName(name) ?? this.deps.store.get(name);
    if (!rec) throw new FerryError('POOL_NOT_FOUND', `Storage pool not found: no storage pool with matching name '${name}'`, { details: { pool: name } });
    return { rec, def: parsePoolXml(rec.xml) };
  }

  async build(name: string): Promise<void> {
    const { def } = this.lookup(name);
    await this.locked(def, () => this.backend(def).build(def));
  }

  async start(name: string, options: { build?: boolean } = {}): Promise<void> {
    const { rec, def } = this.lookup(name);
    await this.locked(def, async () => {
      if (rec.active) throw new FerryError('POOL_ACTIVE', `Requested operation is not valid: storage pool '${name}' is already active`);
      if (options.build) await this.backend(def).build(def);
      await this.backend(def).start(def);
      this.deps.store.setActive(def.uuid, true);
    });
  }

  async destroy(name: string): Promise<void> {
    const { rec, def } = this.lookup(name);
    await this.locked(def, async () => {
      if (!rec.active) throw new FerryError('POOL_NOT_ACTIVE', `Requested operation is not valid: storage pool '${name}' is not active`);
      await this.backend(def).stop(def);
      this.deps.store.setActive(def.uuid, false);
    });
  }

  async undefine(name: string): Promise<void> {
    const { rec, def } = this.lookup(name);
    await this.locked(def, async () => {
      if (rec.active) throw new FerryError('POOL_ACTIVE', `Requested operation is not valid: storage pool '${name}' is still active`);
      this.deps.store.remove(def.uuid);
    });
  }

  autostart(name: string, enable: boolean): void {
    const { def } = this.lookup(name);
    this.deps.store.setAutostart(def.uuid, enable);
  }

  async list(options: { all?: boolean; inactive?: boolean; details?: boolean } = {}): Promise<PoolSummary[]> {
    const out: PoolSummary[] = [];
    for (const rec of this.deps.store.list()) {
      if (!options.all && !options.inactive && !rec.active) continue;
      if (options.inactive && rec.active) continue;
      const def = parsePoolXml(rec.xml);
      const s: PoolSummary = {
        name: rec.name,
        uuid: rec.uuid,
        type: def.type,
        state: rec.active ? 'running' : 'inactive',
        autostart: rec.autostart,
        persistent: true,
        target: def.target.path,
      };
      if (options.details && rec.active)
        s.stats = (await this.backend(def)
          .stats(def)
          .catch(() => undefined)) ?? { capacity: 0, allocation: 0, available: 0 };
      out.push(s);
    }
    return out;
  }

  async info(name: string): Promise<PoolSummary> {
    const { rec, def } = this.lookup(name);
    const s: PoolSummary = {
      name: rec.name,
      uuid: rec.uuid,
      type: def.type,
      state: rec.active ? 'running' : 'inactive',
      autostart: rec.autostart,
      persistent: true,
      target: def.target.path,
    };
    if (rec.active) s.stats = await this.backend(def).stats(def);
    return s;
  }

  dumpXml(name: string): string {
    return this.lookup(name).rec.xml;
  }

  /** Starts the pools marked for autostart (ferryd start-up), and forgets the active flag of pools that no longer work. */
  async autostartAll(): Promise<void> {
    for (const rec of this.deps.store.list()) {
      const def = parsePoolXml(rec.xml);
      if (!rec.autostart && !rec.active) continue;
      try {
        await this.backend(def).start(def);
        this.deps.store.setActive(def.uuid, true);
      } catch (err) {
        this.deps.log.warn({ err, pool: rec.name }, 'storage pool could not be started');
        this.deps.store.setActive(def.uuid, false);
      }
    }
  }

  // ---- volumes ----

  async volumes(pool: string): Promise<VolumeInfo[]> {
    const { def } = this.active(pool);
    return this.backend(def).listVolumes(def);
  }

  async createVolume(pool: string, spec: VolumeSpec): Promise<VolumeInfo> {
    const { def } = this.active(pool);
    assertVolumeName(spec.name);
    if (!Number.isSafeInteger(spec.capacity) || spec.capacity <= 0) throw new FerryError('INVALID_ARGUMENT', 'volume capacity must be a positive size');
    return this.locked(def, async () => {
      await this.backend(def).createVolume(def, spec);
      return this.volumeInfo(pool, spec.name);
    });
  }

  async deleteVolume(pool: string, name: string): Promise<void> {
    const { def } = this.active(pool);
    await this.locked(def, () => this.backend(def).deleteVolume(def, name));
  }

  async volumeInfo(pool: string, name: string): Promise<VolumeInfo> {
    const { def } = this.active(pool);
    const v = (await this.backend(def).listVolumes(def)).find((x) => x.name === name);
    if (!v) throw new FerryError('VOL_NOT_FOUND', `Storage volume not found: no storage vol with matching name '${name}'`, { details: { volume: name, pool } });
    return v;
  }

  /** Finds a volume by its path (or key) in any active pool. */
  async volumeByPath(path: string): Promise<{ pool: string; volume: VolumeInfo }> {
    for (const rec of this.deps.store.list()) {
      if (!rec.active) continue;
      const def = parsePoolXml(rec.xml);
      const v = (
        await this.backend(def)
          .listVolumes(def)
          .catch(() => [])
      ).find((x) => x.path === path || x.name === path);
      if (v) return { pool: rec.name, volume: v };
    }
    throw new FerryError('VOL_NOT_FOUND', `Storage volume not found: no storage vol with matching path '${path}'`, { details: { volume: path } });
  }

  /** The file or device behind pool/volume, for a disk of type='volume'. */
  resolve(pool: string, volume: string): { kind: 'file' | 'block'; path: string } {
    const { def } = this.active(pool);
    const backend = this.backend(def);
    const path = backend.volumePath(def, volume);
    if (!existsSync(path)) throw new FerryError('VOL_NOT_FOUND', `Storage volume not found: no storage vol with matching name '${volume}' in pool '${pool}'`);
    return { kind: backend.volumeType === 'block' || statSync(path).isBlockDevice() ? 'block' : 'file', path };
  }

  /** The pool (if any) whose target directory holds `path`. */
  poolOfPath(path: string): { name: string; def: PoolDefinition; active: boolean } | undefined {
    for (const rec of this.deps.store.list()) {
      const def = parsePoolXml(rec.xml);
      if (def.target.path && path.startsWith(`${def.target.path}/`)) return { name: rec.name, def, active: rec.active };
    }
    return undefined;
  }

  active(pool: string): { rec: PoolRecord; def: PoolDefinition } {
    const found = this.lookup(pool);
    if (!found.rec.active) throw new FerryError('POOL_NOT_ACTIVE', `Requested operation is not valid: storage pool '${pool}' is not active`);
    return found;
  }

  private backend(def: PoolDefinition): PoolBackend {
    return this.deps.backends[def.type];
  }

  private locked<T>(def: PoolDefinition, fn: () => Promise<T>): Promise<T> {
    return this.deps.jobs.run(`pool:${def.uuid}`, 'pool', fn);
  }
}
