import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { diskSecretNeeds } from '../qemu/devices/disk-secrets.js';
import { usesNbdTls } from '../qemu/devices/nbd-tls.js';
import { FerryError } from '../errors/ferry-error.js';
import type { Lease } from '../shared/lease.js';
import { diskDeviceArg, diskNodes, diskNodeNamesTopDown } from '../qemu/argv.js';
import { diskNodeNames } from '../vm/device-aliases.js';
import { throttleGroupProps } from '../qemu/devices/disk-throttle.js';
import { throttleGroupId } from '../vm/devices/disk-iotune.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import type { DomainRecord } from '../store/domain-store.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import { type AttachDiskSpec, diskFromSpec, placeHotplugDisk, removableDisk, withAddedDisk, withMedium, withoutDisk } from '../vm/disk-hotplug.js';
import { machineFamily } from '../vm/machine-family.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import { qemuFilesOf } from './qemu-files.js';
import type { HostService } from './host-service.js';
import type { RunningDomain } from './running-domain.js';

/** virsh's --live / --config / --current / --persistent. */
export interface ChangeScope {
  live?: boolean;
  config?: boolean;
  current?: boolean;
  /** attach-disk --persistent: the running domain and its persistent definition (the definition alone when shut off). */
  persistent?: boolean;
}

export type MediaAction = 'eject' | 'insert' | 'update';

/** How long a guest gets to release a PCI disk after device_del (Linux's pciehp waits 5 s on the attention button). */
const UNPLUG_WAIT_MS = 30_000;
/** How long change-media waits for a guest to unlock a tray (libvirt's CHANGE_MEDIA_TIMEOUT). */
const TRAY_WAIT_MS = 5_000;

/**
 * Disks changed while a domain runs or in its persistent definition, with
 * virsh's semantics: attach-disk / detach-disk (QMP blockdev-add + device_add,
 * device_del + DEVICE_DELETED + blockdev-del) and change-media (open the tray,
 * remove the medium, insert the new one, close the tray). The running
 * definition follows every change, so a migration takes it along.
 */
export class DiskHotplugService {
  constructor(private readonly deps: { host: HostService; log: Logger }) {}

  async attach(ref: string, spec: AttachDiskSpec, scope: ChangeScope): Promise<void> {
    const { host } = this.deps;
    const rec = host.lookup(ref);
    await host.jobs.run(rec.uuid, 'attach-disk', async () => {
      const { vm, current, live, config } = this.resolve(rec.uuid, scope);
      const disk = diskFromSpec({ ...spec, sourceType: spec.sourceType ?? (isBlockDevice(spec.source) ? 'block' : 'file') });
      // The persistent change is checked first: nothing is plugged when it would be refused.
      const persistent = config ? withAddedDisk(parseDomainXml(current.persistentXml as string), disk) : undefined;
      if (live && vm) await this.hotplug(vm, disk);
      if (persistent) host.store.saveDefinition({ uuid: current.uuid, name: current.name, persistentXml: renderDomainXml(persistent) });
    });
  }

  async detach(ref: string, target: string, scope: ChangeScope): Promise<void> {
    const { host } = this.deps;
    const rec = host.lookup(ref);
    await host.jobs.run(rec.uuid, 'detach-disk', async () => {
      const { vm, current, live, config } = this.resolve(rec.uuid, scope);
      const persistent = config ? withoutDisk(parseDomainXml(current.persistentXml as string), target) : undefined;
      if (live && vm) await this.unplug(vm, target);
      if (persistent) host.store.saveDefinition({ uuid: current.uuid, name: current.name, persistentXml: renderDomainXml(persistent) });
    });
  }

  async changeMedia(ref: string, dev: string, action: MediaAction, source: string | undefined, scope: ChangeScope & { force?: boolean }): Promise<void> {
    const { host } = this.deps;
    const rec = host.lookup(ref);
    if (action !== 'eject' && !source) throw new FerryError('INVALID_ARGUMENT', `error: No disk source specified for change-media --${action}`);
    await host.jobs.run(rec.uuid, 'change-media', async () => {
      const { vm, current, live, config } = this.resolve(rec.uuid, scope);
      const next = action === 'eject' ? undefined : source;
      let persistent: DomainDefinition | undefined;
      if (config) {
        const def = parseDomainXml(current.persistentXml as string);
        checkMedia(removableDisk(def, dev), action);
        persistent = withMedium(def, removableDisk(def, dev).target.dev, next);
      }
      if (live && vm) {
        const disk = removableDisk(vm.def, dev);
        checkMedia(disk, action);
        await this.swapMedium(vm, disk, next, scope.force ?? false);
      }
      if (persistent) host.store.saveDefinition({ uuid: current.uuid, name: current.name, persistentXml: renderDomainXml(persistent) });
    });
  }

  /** Opens the trays a definition starts with open (<target tray='open'>), before the vCPUs run. */
  static async openTrays(monitor: QemuMonitor, def: DomainDefinition): Promise<void> {
    for (const d of def.devices.disks) {
      if (d.tray === 'open') await monitor.call('blockdev-open-tray', { id: diskNodeNames(d.target.dev).device, force: true });
    }
  }

  private resolve(uuid: string, scope: ChangeScope): { vm: RunningDomain | undefined; current: DomainRecord; live: boolean; config: boolean } {
    const { host } = this.deps;
    const current = host.lookup(uuid);
    const vm = host.runningDomain(uuid);
    let live = scope.live ?? false;
    let config = scope.config ?? false;
    if (scope.persistent) {
      config = true;
      if (vm) live = true;
    }
    if (!live && !config) {
      if (vm) live = true;
      else config = true;
    }
    if (live && !vm) throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
    if (config && current.persistentXml === null) {
      throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot change persistent config of a transient domain');
    }
    return { vm, current, live, config };
  }

  private async hotplug(vm: RunningDomain, requested: DiskDefinition): Promise<void> {
    const { host, log } = this.deps;
    const disk = placeHotplugDisk(vm.def, requested);
    const next = withAddedDisk(vm.def, disk);
    const placed = next.devices.disks.find((d) => d.target.dev === disk.target.dev) as DiskDefinition;
    const source = host.resolveDisk(placed);
    if (diskSecretNeeds(placed).length > 0) {
      throw new FerryError('NOT_SUPPORTED', `this function is not supported: hot-plugging disk '${placed.target.dev}' with <auth>, <encryption> or <cookies>`, {
        hint: 'Add the disk to the persistent definition (--config) and restart the domain: its secrets are handed to QEMU at start (docs/secrets.md)',
      });
    }
    if (placed.transient) {
      throw new FerryError('NOT_SUPPORTED', `this function is not supported: hot-plugging transient disk '${placed.target.dev}'`, {
        hint: 'Add the disk to the persistent definition (--config) and restart the domain: its overlay is made at start',
      });
    }
    if (usesNbdTls(placed)) {
      throw new FerryError('NOT_SUPPORTED', `this function is not supported: hot-plugging disk '${placed.target.dev}' with <source protocol='nbd' tls='yes'>`, {
        hint: 'Add the disk to the persistent definition (--config) and restart the domain: its TLS credentials are handed to QEMU at start',
      });
    }
    host.grantToQemu(qemuFilesOf(onlyDisk(next, placed), (d) => host.resolveDisk(d)));
    // A writable disk is leased before QEMU opens it, as at start; a read-only or shareable one shares its lease.
    const leases = await this.diskLeases(next, placed.target.dev);
    await host.locks.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, leases);
    const added: string[] = [];
    // A throttle group is created with the first disk that names it and goes with the last.
    const group = throttleGroupProps(placed);
    const newGroup = group !== undefined && !vm.def.devices.disks.some((d) => d.iotune && throttleGroupId(d) === group.id);
    try {
      if (newGroup) await vm.monitor.call('object-add', group);
      for (const node of diskNodes(placed, source)) {
        await vm.monitor.call('blockdev-add', node);
        added.push(node['node-name'] as string);
      }
      const arg = diskDeviceArg(placed, source, next, machineFamily(next.os.machine) === 'q35');
      // HMP's device_add takes the very -device string the command line would carry (and that a migration's destination gets).
      const out = await vm.monitor.call<string>('human-monitor-command', { 'command-line': `device_add ${arg}` });
      if (typeof out === 'string' && out.trim() !== '')
        throw new FerryError('QMP_COMMAND_FAILED', `internal error: unable to execute QEMU command 'device_add': ${out.trim()}`);
    } catch (err) {
      for (const node of added.reverse()) await vm.monitor.call('blockdev-del', { 'node-name': node }).catch(() => undefined);
      if (newGroup) await vm.monitor.call('object-del', { id: group.id }).catch(() => undefined);
      await host.locks.releaseLeases(vm.uuid, leases);
      throw err;
    }
    this.setLive(vm, next);
    log.info({ vm: vm.name, disk: placed.target.dev, address: placed.address }, 'disk hot-plugged');
  }

  private async unplug(vm: RunningDomain, target: string): Promise<void> {
    const disk = vm.def.devices.disks.find((d) => d.target.dev === target);
    if (!disk) throw new FerryError('DISK_NOT_FOUND', `No disk found whose source path or target is ${target}`, { details: { target } });
    if (disk.target.bus === 'sata' || disk.target.bus === 'ide' || disk.target.bus === 'fdc') {
      throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: disk bus '${disk.target.bus}' cannot be hotplugged.`, {
        hint: 'Detach it with --config (the persistent definition) and restart the domain',
      });
    }
    const id = diskNodeNames(target).device;
    const leases = await this.diskLeases(vm.def, target);
    const events = vm.monitor.listen(['DEVICE_DELETED']);
    const deleted = (async (): Promise<void> => {
      try {
        for (;;) {
          const e = await events.next({ timeoutMs: UNPLUG_WAIT_MS * 20 });
          if (e.data?.device === id) return;
        }
      } finally {
        events.close();
      }
    })();
    const finish = async (): Promise<void> => {
      for (const node of diskNodeNamesTopDown(disk)) {
        await vm.monitor.call('blockdev-del', { 'node-name': node }).catch(() => undefined);
      }
      const rest = withoutDisk(vm.def, target);
      if (disk.iotune && !rest.devices.disks.some((d) => d.iotune && throttleGroupId(d) === throttleGroupId(disk))) {
        await vm.monitor.call('object-del', { id: throttleGroupId(disk) }).catch(() => undefined);
      }
      await this.deps.host.locks.releaseLeases(vm.uuid, leases);
      this.setLive(vm, withoutDisk(vm.def, target));
      this.deps.log.info({ vm: vm.name, disk: target }, 'disk unplugged');
    };
    try {
      await vm.monitor.call('device_del', { id });
    } catch (err) {
      events.close();
      throw err;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), UNPLUG_WAIT_MS);
    });
    const outcome = await Promise.race([deleted.then(() => 'deleted' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'deleted') return finish();
    // The guest has not released it yet: the removal ends when it does.
    void deleted.then(finish, () => undefined);
    throw new FerryError(
      'OPERATION_TIMEOUT',
      `operation failed: the guest did not release disk '${target}' within ${UNPLUG_WAIT_MS / 1000} s; it is removed once it does`,
      {
        hint: 'The guest must support PCI hot-unplug (pciehp/acpiphp); check "ferry domblklist" again later',
      },
    );
  }

  /**
   * Opens a cdrom's or floppy's tray. A guest holds the tray locked while it has the device open (Linux
   * locks it on every open, even a moment's poll), and QEMU then leaves it shut: asked again for up to
   * TRAY_WAIT_MS, as libvirt waits for the tray to move, before it is DISK_TRAY_LOCKED (--force opens it anyway).
   */
  private async openTray(vm: RunningDomain, id: string, force: boolean, dev: string): Promise<void> {
    const deadline = Date.now() + TRAY_WAIT_MS;
    for (;;) {
      await vm.monitor.call('blockdev-open-tray', { id, force });
      const blocks = (await vm.monitor.call('query-block')) as Array<{ qdev?: string; tray_open?: boolean }>;
      if (blocks.some((b) => (b.qdev === id || b.qdev?.endsWith(`/${id}`) === true) && b.tray_open === true)) return;
      if (Date.now() >= deadline) throw new FerryError('DISK_TRAY_LOCKED', `operation failed: the guest has locked the tray of '${dev}'`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async swapMedium(vm: RunningDomain, disk: DiskDefinition, source: string | undefined, force: boolean): Promise<void> {
    const { host } = this.deps;
    const id = diskNodeNames(disk.target.dev).device;
    const next = withMedium(vm.def, disk.target.dev, source);
    const nextDisk = next.devices.disks.find((d) => d.target.dev === disk.target.dev) as DiskDefinition;
    const oldLeases = await this.diskLeases(vm.def, disk.target.dev);
    const newLeases = source === undefined ? [] : await this.diskLeases(next, disk.target.dev);
    if (source !== undefined) host.grantToQemu(qemuFilesOf(onlyDisk(next, nextDisk), (d) => host.resolveDisk(d)));
    await host.locks.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, newLeases);
    try {
      await this.openTray(vm, id, force, disk.target.dev);
      await vm.monitor.call('blockdev-remove-medium', { id });
      for (const node of diskNodeNamesTopDown(disk)) {
        await vm.monitor.call('blockdev-del', { 'node-name': node }).catch(() => undefined);
      }
      if (source !== undefined) {
        const nodes = diskNodes(nextDisk, host.resolveDisk(nextDisk));
        for (const node of nodes) await vm.monitor.call('blockdev-add', node);
        await vm.monitor.call('blockdev-insert-medium', { id, 'node-name': nodes.at(-1)?.['node-name'] });
      }
      await vm.monitor.call('blockdev-close-tray', { id });
    } catch (err) {
      await host.locks.releaseLeases(
        vm.uuid,
        newLeases.filter((l) => !oldLeases.some((o) => o.resource === l.resource)),
      );
      throw err;
    }
    await host.locks.releaseLeases(
      vm.uuid,
      oldLeases.filter((o) => !newLeases.some((l) => l.resource === o.resource)),
    );
    this.setLive(vm, next);
  }

  private async diskLeases(def: DomainDefinition, dev: string): Promise<Lease[]> {
    return (await this.deps.host.locks.leases(def)).filter((l) => l.disk === dev);
  }

  private setLive(vm: RunningDomain, def: DomainDefinition): void {
    vm.updateDefinition(def);
    this.deps.host.store.setLiveXml(vm.uuid, renderLiveXml(def));
  }
}

function checkMedia(disk: DiskDefinition, action: MediaAction): void {
  const has = Object.keys(disk.source).length > 0;
  if (action === 'insert' && has)
    throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: The disk device '${disk.target.dev}' already has media`);
  if (action === 'eject' && !has)
    throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: The disk device '${disk.target.dev}' doesn't have media`);
}

/** A definition with one disk and nothing else QEMU opens (for the files a hot-plugged disk needs). */
function onlyDisk(def: DomainDefinition, disk: DiskDefinition): DomainDefinition {
  const { kernel: _k, initrd: _i, ...os } = def.os;
  return {
    ...def,
    os,
    devices: { ...def.devices, disks: [disk], serials: [], consoles: [], channels: [], redirdevs: [], rngs: [], hostdevs: [] },
  };
}

function isBlockDevice(path: string): boolean {
  try {
    return statSync(path).isBlockDevice();
  } catch {
    return false;
  }
}
