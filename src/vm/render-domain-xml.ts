import { renderSmartcard } from './devices/smartcard.js';
import { renderCrypto } from './devices/crypto.js';
import { renderIommu } from './devices/iommu.js';
import { renderHub } from './devices/hub.js';
import { renderPstore } from './devices/pstore.js';
import { renderVsock } from './devices/vsock.js';
import { renderLease } from './devices/lease.js';
import { renderParallel } from './devices/parallel.js';
import { el, renderXml, type XmlElement } from '../shared/xml.js';
import { renderThrottleGroups } from './devices/disk-iotune.js';
import type { DomainDefinition } from './definition.js';
import { renderChannel } from './devices/channel.js';
import { renderController } from './devices/controller.js';
import { renderAudio, renderGraphics, renderInput, renderSound, renderVideo } from './devices/desktop.js';
import { renderDisk } from './devices/disk.js';
import { renderInterface } from './devices/interface.js';
import { renderTpm } from './devices/tpm.js';
import { renderMemballoon, renderPanic, renderRedirdev, renderRedirfilter, renderRng, renderWatchdog } from './devices/misc-devices.js';
import { renderConsole, renderSerial } from './devices/serial.js';
import { renderPlatform } from './platform.js';
import { renderCpu } from './cpu-model.js';
import { renderVcpus } from './vcpus.js';
import { renderBlkiotune } from './blkiotune.js';
import { renderMemtune } from './memtune.js';
import { renderMemoryLayout, renderNuma } from './memory-layout.js';
import { renderMemoryDevice } from './devices/memory.js';
import { renderFilesystem } from './devices/filesystem.js';
import { renderShmem } from './devices/shmem.js';
import { QEMU_NAMESPACE, renderQemuCommandline } from './qemu-namespace.js';
import { renderSeclabel } from './seclabel.js';
import { renderSysinfo } from './sysinfo.js';
import { renderIothreads } from './iothreads.js';
import { clockAttrs, clockOf } from './clock-offset.js';
import { firmwareOsAttrs, renderFirmware } from './firmware.js';

export interface RenderOptions {
  /** The running domain's id, shown as <domain id=...>; a live definition also shows device aliases. */
  id?: number;
  /** Show secrets (graphics passwords, http cookie values): dumpxml --security-info on a read-write connection. */
  secrets?: boolean;
  /** ferryd's own record of a running domain (libvirt's status XML): also what this host chose at start (listen fromConfig). */
  status?: boolean;
}

/** A running domain's definition as ferryd keeps it in its store (read back after a restart with every mark). */
export function renderLiveXml(def: DomainDefinition): string {
  return renderDomainXml(def, { status: true });
}

/** Libvirt's order of top-level elements. */
const TOP_LEVEL_ORDER = [
  'name',
  'uuid',
  'genid',
  'title',
  'description',
  'metadata',
  'maxMemory',
  'memory',
  'currentMemory',
  'blkiotune',
  'memtune',
  'memoryBacking',
  'vcpu',
  'vcpus',
  'iothreads',
  'iothreadids',
  'defaultiothread',
  'throttlegroups',
  'cputune',
  'numatune',
  'resource',
  'sysinfo',
  'os',
  'features',
  'cpu',
  'clock',
  'on_poweroff',
  'on_reboot',
  'on_crash',
  'on_lockfailure',
  'pm',
  'devices',
  'seclabel',
  'qemu:commandline',
];

/** Renders a definition as libvirt domain XML; parseDomainXml() of the result gives back the same definition. */
export function renderDomainXml(def: DomainDefinition, options: RenderOptions = {}): string {
  const top: XmlElement[] = [
    el('name', {}, def.name),
    el('uuid', {}, def.uuid),
    def.genid === undefined ? undefined : el('genid', {}, def.genid),
    def.title === undefined ? undefined : el('title', {}, def.title),
    def.description === undefined ? undefined : el('description', {}, def.description),
    def.metadata,
    el('memory', { unit: 'KiB', dumpCore: def.dumpCore }, String(def.memoryKiB)),
    el('currentMemory', { unit: 'KiB' }, String(def.currentMemoryKiB)),
    renderBlkiotune(def.blkiotune),
    renderMemtune(def.memtune),
    ...renderVcpus(def),
    ...renderIothreads(def),
    renderThrottleGroups(def.throttleGroups),
    ...renderMemoryLayout(def.memoryLayout, def.numaAdvice?.nodeset),
    ...renderSysinfo(def.sysinfo),
    renderOs(def),
    def.cpu ? renderCpu(def.cpu, renderNuma(def.memoryLayout)) : undefined,
    ...renderPlatform(def.platform, clockAttrs(clockOf(def))),
    el('on_poweroff', {}, def.onPoweroff),
    el('on_reboot', {}, def.onReboot),
    el('on_crash', {}, def.onCrash),
    def.onLockFailure === undefined ? undefined : el('on_lockfailure', {}, def.onLockFailure),
    renderDevices(def, options.id !== undefined, options.secrets ?? true, options.status ?? false),
    ...(def.seclabels ?? []).map(renderSeclabel),
    def.qemuCommandline ? renderQemuCommandline(def.qemuCommandline) : undefined,
  ].filter((e): e is XmlElement => e !== undefined);
  const root = el('domain', { type: def.type, id: options.id, 'xmlns:qemu': def.qemuCommandline ? QEMU_NAMESPACE : undefined }, sortBy(top, TOP_LEVEL_ORDER));
  return renderXml(root);
}

function renderOs(def: DomainDefinition): XmlElement {
  const os = def.os;
  return el('os', firmwareOsAttrs(os.firmware), [
    el('type', { arch: os.arch, machine: os.machine }, 'hvm'),
    ...renderFirmware(os.firmware),
    os.kernel === undefined ? undefined : el('kernel', {}, os.kernel),
    os.initrd === undefined ? undefined : el('initrd', {}, os.initrd),
    os.cmdline === undefined ? undefined : el('cmdline', {}, os.cmdline),
    ...os.boot.map((dev) => el('boot', { dev })),
    os.bootMenu === undefined ? undefined : el('bootmenu', { enable: os.bootMenu.enable ? 'yes' : 'no', timeout: os.bootMenu.timeout }),
    os.rebootTimeout === undefined ? undefined : el('bios', { rebootTimeout: os.rebootTimeout }),
    os.acpiTables
      ? el(
          'acpi',
          {},
          os.acpiTables.map((t) => el('table', { type: t.type }, t.path)),
        )
      : undefined,
    os.smbiosMode === undefined ? undefined : el('smbios', { mode: os.smbiosMode }),
  ]);
}

/** Devices in libvirt's order: each kind together, kinds in the order libvirt writes them. */
function renderDevices(def: DomainDefinition, live: boolean, secrets: boolean, status: boolean): XmlElement {
  const d = def.devices;
  return el('devices', {}, [
    d.emulator === undefined ? undefined : el('emulator', {}, d.emulator),
    ...d.disks.map((x) => renderDisk(x, live, secrets)),
    ...d.controllers.map((x) => renderController(x, live)),
    ...(d.leases ?? []).map(renderLease),
    ...(d.filesystems ?? []).map((x) => renderFilesystem(x, live)),
    ...d.interfaces.map((x) => renderInterface(x, live)),
    ...(d.smartcards ?? []).map((x) => renderSmartcard(x, live)),
    ...d.serials.map((x) => renderSerial(x, live)),
    ...(d.parallels ?? []).map((x) => renderParallel(x, live)),
    ...d.consoles.map((x) => renderConsole(x, live)),
    ...d.channels.map((x) => renderChannel(x, live)),
    ...d.inputs.map((x) => renderInput(x, live)),
    ...d.graphics.map((x) => renderGraphics(x, secrets, status)),
    ...d.sounds.map((x) => renderSound(x, live)),
    ...d.audios.map(renderAudio),
    ...d.videos.map((x) => renderVideo(x, live)),
    ...d.hostdevs.map((h) => h.element),
    ...d.redirdevs.map((x) => renderRedirdev(x, live)),
    d.redirfilter ? renderRedirfilter(d.redirfilter) : undefined,
    ...(d.hubs ?? []).map((x) => renderHub(x, live)),
    ...d.watchdogs.map((x) => renderWatchdog(x, live)),
    d.memballoon ? renderMemballoon(d.memballoon, live) : undefined,
    ...d.rngs.map((x) => renderRng(x, live)),
    d.tpm ? renderTpm(d.tpm, live) : undefined,
    ...(d.shmems ?? []).map((x) => renderShmem(x, live)),
    ...d.panics.map((x) => renderPanic(x, live)),
    ...(d.memories ?? []).map((x) => renderMemoryDevice(x, live)),
    d.iommu ? renderIommu(d.iommu, live) : undefined,
    ...(d.cryptos ?? []).map((x) => renderCrypto(x, live)),
    d.vsock ? renderVsock(d.vsock, live) : undefined,
    d.pstore ? renderPstore(d.pstore, live) : undefined,
  ]);
}

function sortBy(elements: XmlElement[], order: string[]): XmlElement[] {
  const rank = (e: XmlElement): number => {
    const i = order.indexOf(e.name);
    return i < 0 ? order.length : i;
  };
  return elements
    .map((e, i) => ({ e, i }))
    .sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i)
    .map(({ e }) => e);
}
