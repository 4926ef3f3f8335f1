import { existsSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { resolveMachineType } from '../qemu/binary.js';
import type { DomainRecord, DomainStore } from '../store/domain-store.js';
import type { DiskEdit, DomainSummary } from '../shared/api-types.js';
import type { DomainDefinition } from '../vm/definition.js';
import { isActiveState } from '../shared/domain-state.js';
import { applyDiskEdit } from '../vm/disk-edit.js';
import { classifyDomainRef } from '../vm/identifiers.js';
import type { DomainJobs } from '../vm/jobs.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml } from '../vm/render-domain-xml.js';
import { withoutSecrets } from '../vm/secure-xml.js';
import type { DomainLauncher } from './domain-launcher.js';
import type { DomainEvent } from '../shared/domain-events.js';
import type { DomainRegistry, TpmStatePolicy } from './domain-registry.js';
import { LargeXmlTurns } from './large-xml-turns.js';
import type { ManagedSaveImages } from './managed-save.js';
import { nvramPathOf, removeNvram } from './nvram-store.js';
import type { QemuCapabilities } from './qemu-capabilities.js';

export interface DomainDefinitionsDeps {
  store: DomainStore;
  jobs: DomainJobs;
  launcher: DomainLauncher;
  caps: QemuCapabilities;
  registry: DomainRegistry;
  saves: ManagedSaveImages;
  now: () => number;
  publish: (event: DomainEvent) => void;
}

/** The domains' persistent definitions: lookup, define, undefine, edit, and the XML as virsh shows it. */
export class DomainDefinitions {
  private readonly largeXml = new LargeXmlTurns();

  constructor(private readonly deps: DomainDefinitionsDeps) {}

  /** Finds a domain by id, uuid or name, in virsh's order. */
  lookup(ref: string): DomainRecord {
    const { store } = this.deps;
    const c = classifyDomainRef(ref);
    const found = (c.kind === 'id' ? store.findById(c.id) : undefined) ?? (c.kind === 'uuid' ? store.get(c.uuid) : undefined) ?? store.findByName(ref);
    if (!found) {
      throw new FerryError('DOMAIN_NOT_FOUND', `Domain not found: no domain with matching name '${ref}'`, { details: { domain: ref } });
    }
    return found;
  }

  list(options: { all?: boolean; inactive?: boolean } = {}): Array<DomainSummary & { managedSave: boolean }> {
    const all = this.deps.store.list();
    const listed = options.inactive ? all.filter((d) => !isActiveState(d.state)) : options.all ? all : all.filter((d) => isActiveState(d.state));
    // Only a shut-off domain can have a managed save image (list --with-managed-save, --managed-save).
    return listed.map((d) => ({ ...d, managedSave: d.state === 'shutoff' && this.deps.saves.has(d.uuid) }));
  }

  /** Defines (or redefines) a persistent domain from XML. */
  async define(xml: string): Promise<DomainRecord> {
    // A large document is parsed and rendered in its turn, the event loop served between the steps.
    const { def, rendered } = await this.largeXml.run(xml, async (step) => {
      await step();
      const parsed = await this.canonical(parseDomainXml(xml));
      await step();
      const text = renderDomainXml(parsed);
      await step();
      return { def: parsed, rendered: text };
    });
    return this.deps.jobs.run(def.uuid, 'define', async () => {
      const rec = this.deps.store.saveDefinition({ uuid: def.uuid, name: def.name, persistentXml: rendered });
      this.deps.publish({ type: 'domain.defined', uuid: rec.uuid, name: rec.name, at: this.deps.now() });
      return rec;
    });
  }

  /** Parses a transient domain's XML (virsh create), in its turn when it is large. */
  parseTransient(xml: string): Promise<DomainDefinition> {
    return this.largeXml.run(xml, async (step) => {
      await step();
      return this.canonical(parseDomainXml(xml));
    });
  }

  /**
   * Undefines a domain; a running one becomes transient and goes away when it stops.
   * An emulated TPM's state goes with the definition unless persistent_state='yes'
   * (virsh undefine --keep-tpm keeps it, --tpm removes it regardless). A UEFI variable store that exists
   * must be named: --nvram removes it, --keep-nvram keeps it (libvirt's rule).
   */
  async undefine(ref: string, options: { tpm?: TpmStatePolicy; nvram?: 'remove' | 'keep'; managedSave?: boolean } = {}): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    const { saves } = this.deps;
    return this.deps.jobs.run(rec.uuid, 'undefine', async () => {
      if (rec.persistentXml === null) {
        throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot undefine transient domain');
      }
      // As virsh: a managed save image goes only with --managed-save.
      if (saves.has(rec.uuid)) {
        if (!options.managedSave)
          throw new FerryError('MANAGED_SAVE_EXISTS', 'Requested operation is not valid: Refusing to undefine while domain managed save image exists');
        saves.remove(rec.uuid);
      }
      // As libvirt: a domain whose UEFI variable store exists is undefined only with --nvram (removed) or --keep-nvram.
      const nvram = nvramPathOf(parseDomainXml(rec.persistentXml));
      if (nvram !== undefined && existsSync(nvram)) {
        if (options.nvram === undefined) {
          throw new FerryError(
            'OPERATION_INVALID',
            `Requested operation is not valid: cannot undefine domain with nvram (${nvram}): use --nvram to remove it or --keep-nvram to keep it`,
          );
        }
        if (options.nvram === 'remove' && !this.deps.registry.has(rec.uuid)) removeNvram(nvram);
      }
      this.undefineRecord(rec.uuid, options.tpm);
      this.deps.publish({ type: 'domain.undefined', uuid: rec.uuid, name: rec.name, at: this.deps.now() });
      return rec;
    });
  }

  /**
   * Removes a domain's persistent definition from the store (undefine, a
   * migration's --undefinesource) and, once nothing of the domain is left
   * here, its emulated TPM's state (the TPM policy of a running domain applies
   * when it stops).
   */
  undefineRecord(uuid: string, tpm?: TpmStatePolicy): void {
    const rec = this.deps.store.get(uuid);
    const def = rec?.persistentXml ? parseDomainXml(rec.persistentXml) : undefined;
    const outcome = this.deps.store.undefine(uuid);
    if (outcome === 'transient') {
      if (tpm) this.deps.registry.keepTpmPolicyUntilStop(uuid, tpm);
      return;
    }
    if (def) this.deps.registry.dropTpmState(def, tpm);
  }

  /** virsh dumpxml: secrets (a <graphics> passwd) only with `secure` (--security-info), which the API allows read-write callers only. */
  dumpXml(ref: string, options: { inactive?: boolean; secure?: boolean } = {}): string {
    const rec = this.lookup(ref);
    const xml =
      rec.liveXml !== null && !options.inactive
        ? renderDomainXml(parseDomainXml(rec.liveXml), rec.domainId === null ? {} : { id: rec.domainId })
        : (rec.persistentXml ?? (rec.liveXml as string));
    return options.secure ? xml : withoutSecrets(xml);
  }

  /** The seed's `virt-xml VM --edit --disk target=vda,cache=none`: edits the persistent definition. */
  async editDisk(ref: string, target: string, edit: DiskEdit): Promise<{ record: DomainRecord; active: boolean }> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'disk-edit', async () => {
      if (rec.persistentXml === null) {
        throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: transient domains do not have any persistent config');
      }
      const def = applyDiskEdit(parseDomainXml(rec.persistentXml), target, edit);
      const record = this.deps.store.saveDefinition({ uuid: rec.uuid, name: rec.name, persistentXml: renderDomainXml(def) });
      return { record, active: rec.liveXml !== null };
    });
  }

  definition(ref: string, options: { inactive?: boolean } = {}): DomainDefinition {
    const rec = this.lookup(ref);
    const xml = options.inactive ? (rec.persistentXml ?? rec.liveXml) : (rec.liveXml ?? rec.persistentXml);
    return parseDomainXml(xml as string);
  }

  /** The definition as it travels to another host: without this host's log paths and tap names. */
  portableDefinition(uuid: string): DomainDefinition {
    const vm = this.deps.registry.get(uuid);
    const rec = this.deps.store.get(uuid);
    const live = vm?.def ?? parseDomainXml((rec?.liveXml ?? rec?.persistentXml) as string);
    return this.deps.launcher.portable(live);
  }

  /** Expands the machine alias (q35 → pc-q35-10.0) when the QEMU binary can be asked. */
  private async canonical(written: DomainDefinition): Promise<DomainDefinition> {
    // A network's bridge is decided on each host at start (libvirt ignores bridge= of type='network' when defining).
    const interfaces = written.devices.interfaces.map((i) => (i.type === 'network' ? { ...i, source: { network: i.source.network as string } } : i));
    const def: DomainDefinition = { ...written, devices: { ...written.devices, interfaces } };
    // placement='auto' is advised at each start (libvirt ignores a nodeset/cpuset beside it when defining).
    delete def.numaAdvice;
    try {
      const info = await this.deps.caps.binary(this.deps.launcher.binaryFor(def));
      const machine = resolveMachineType(info, def.os.machine);
      if (machine === undefined) {
        throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: Emulator '${info.path}' does not support machine type '${def.os.machine}'`);
      }
      return this.deps.launcher.completeFirmware({ ...def, os: { ...def.os, machine } });
    } catch (err) {
      if (err instanceof FerryError && (err.code === 'XML_UNSUPPORTED' || err.code.startsWith('FIRMWARE_'))) throw err;
      return def; // QEMU missing here: keep the definition as written; start will say what is wrong.
    }
  }
}
