import { parseSmartcard } from './devices/smartcard.js';
import { parseCrypto } from './devices/crypto.js';
import { assertOneIommu, parseIommu } from './devices/iommu.js';
import { parseHub } from './devices/hub.js';
import { parsePstore } from './devices/pstore.js';
import { parseVsock } from './devices/vsock.js';
import { parseLease } from './devices/lease.js';
import { parseParallel } from './devices/parallel.js';
import { randomUUID } from 'node:crypto';
import { parseThrottleGroups } from './devices/disk-iotune.js';
import { child, type XmlElement } from '../shared/xml.js';
import { type BootDevice, type CrashAction, type DomainDefinition, type LifecycleAction } from './definition.js';
import { FerryError } from '../errors/ferry-error.js';
import { parseChannel } from './devices/channel.js';
import { parseController } from './devices/controller.js';
import { orderVideos, parseAudio, parseGraphics, parseInput, parseSound, parseVideo } from './devices/desktop.js';
import { parseDisk } from './devices/disk.js';
import { parseHostdev } from './devices/hostdev.js';
import { parseInterface } from './devices/interface.js';
import { interfaceProblems } from './devices/interface-problems.js';
import { parseTpm } from './devices/tpm.js';
import { parseMemballoon, parsePanic, parseRedirdev, parseRedirfilter, parseRng, parseWatchdog } from './devices/misc-devices.js';
import { parseConsole, parseSerial } from './devices/serial.js';
import { macFromUuid, normalizeUuid } from './identifiers.js';
import { parsePlatform } from './platform.js';
import { parseCpu } from './cpu-model.js';
import { parseVcpus } from './vcpus.js';
import { completeDefinition } from './device-topology.js';
import { checkAcpiIndexes } from './devices/placement.js';
import { placementProblems } from './placement-rules.js';
import { DOMAIN_RULE } from './schema/domain-schema.js';
import { unsupportedParts } from './schema/element-rule.js';
import { nonNegativeInt, oneOf } from './xml-values.js';
import { toKiB } from './memory-units.js';
import { parseMemoryLayout } from './memory-layout.js';
import { settleAutoPlacement } from './auto-placement.js';
import { parseMemoryDevice, placeMemoryDevices } from './devices/memory.js';
import { checkFilesystems, parseFilesystem } from './devices/filesystem.js';
import { parseShmem } from './devices/shmem.js';
import { parseQemuCommandline } from './qemu-namespace.js';
import { parseSeclabels } from './seclabel.js';
import { parseOsSmbios, parseSysinfo, sysinfoUuid } from './sysinfo.js';
import { checkIothreadPins, iothreadIdsOf, parseIothreads } from './iothreads.js';
import { parseThreadSchedulers } from './cpu-tuning.js';
import { parseBlkiotune } from './blkiotune.js';
import { parseMemtune } from './memtune.js';
import { parseClockOffset } from './clock-offset.js';
import { checkFirmware, parseFirmware } from './firmware.js';
import { machineFamily } from './machine-family.js';
import { parseXmlDocument, unsupportedConfiguration, xmlInvalid, xmlUnsupported } from './xml-errors.js';

/**
 * Parses libvirt domain XML into a DomainDefinition. Malformed XML, invalid
 * values and unsupported elements that would change what the VM is all fail
 * with a coded error naming the element.
 */
export function parseDomainXml(source: string): DomainDefinition {
  const root = parseXmlDocument(source);
  if (root.name !== 'domain') throw xmlInvalid(root.name, `expected root element <domain>, found <${root.name}>`);
  const problems = unsupportedParts(root, DOMAIN_RULE);
  let def: DomainDefinition;
  try {
    def = parseDomain(root);
  } catch (err) {
    // The rule walk has named everything unsupported already; an invalid value is reported with it, so one pass shows all there is to fix.
    if (problems.length > 0 && err instanceof FerryError) {
      if (err.code === 'XML_UNSUPPORTED') throw unsupportedConfiguration(problems);
      throw unsupportedConfiguration([{ path: '', message: err.message }, ...problems], err.code === 'XML_INVALID' ? 'XML_INVALID' : 'XML_UNSUPPORTED');
    }
    throw err;
  }
  problems.push(...placementProblems(def), ...interfaceProblems(def));
  if (problems.length > 0) throw unsupportedConfiguration(problems);
  const complete = completeDefinition(def);
  const d = complete.devices;
  checkAcpiIndexes([
    ...d.disks.map((x) => ({ label: `disk '${x.target.dev}'`, placed: x })),
    ...d.interfaces.map((x, i) => ({ label: `<interface> #${i}`, placed: x })),
    ...d.videos.map((x, i) => ({ label: `<video> #${i}`, placed: x })),
  ]);
  return complete;
}

function parseDomain(root: XmlElement): DomainDefinition {
  const type = root.attrs.type;
  if (type === undefined) throw xmlInvalid('domain', 'missing domain type attribute');
  if (type !== 'kvm' && type !== 'qemu') throw xmlUnsupported(`domain type='${type}'`, "is not supported (use 'kvm' or 'qemu')");

  const clock = child(root, 'clock');
  const clockParsed = clock ? parseClockOffset(clock) : undefined;
  const clockOffset = clockParsed?.offset === 'utc' || clockParsed?.offset === 'localtime' ? clockParsed.offset : undefined;

  const name = requiredText(root, 'name', 'domain');
  if (name.includes('/')) throw xmlInvalid('name', `name '${name}' cannot contain '/'`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f]/.test(name) || name.length > 200) throw xmlInvalid('name', `invalid domain name '${name}'`);
  const uuidText = child(root, 'uuid')?.text;
  // Without a <uuid>, libvirt takes <sysinfo type='smbios'>'s system uuid (the two must agree).
  const uuid = uuidText ? normalizeUuid(uuidText) : (normalizeUuid(sysinfoUuid(root) ?? '') ?? randomUUID());
  if (uuid === undefined) throw xmlInvalid('uuid', `malformed uuid '${uuidText}'`);

  const memoryEl = child(root, 'memory');
  if (!memoryEl) throw xmlInvalid('domain', 'missing <memory>');
  const memoryKiB = toKiB(memoryEl.text, memoryEl.attrs.unit, 'memory');
  const dumpCore = memoryEl.attrs.dumpCore;
  const currentEl = child(root, 'currentMemory');
  const currentMemoryKiB = currentEl ? toKiB(currentEl.text, currentEl.attrs.unit, 'currentMemory') : memoryKiB;
  if (currentMemoryKiB > memoryKiB) throw xmlInvalid('currentMemory', 'current memory exceeds maximum memory');

  const vcpuFields = parseVcpus(root);
  const vcpus = vcpuFields.vcpus;

  const title = child(root, 'title')?.text;
  const description = child(root, 'description')?.text;
  const def: DomainDefinition = {
    type,
    name,
    uuid,
    memoryKiB,
    currentMemoryKiB,
    ...vcpuFields,
    os: parseOs(child(root, 'os')),
    onPoweroff: lifecycle(root, 'on_poweroff', 'destroy'),
    onReboot: lifecycle(root, 'on_reboot', 'restart'),
    onCrash: crashAction(root),
    platform: parsePlatform(root),
    devices: parseDevices(child(root, 'devices')),
  };
  checkFirmware(def.os.firmware, def.platform.smm, machineFamily(def.os.machine ?? 'pc') === 'q35');
  // Secure boot needs SMM: libvirt turns it on when <features> does not say.
  if (def.os.firmware?.loader?.secure === true && def.platform.smm === undefined) def.platform = { ...def.platform, smm: true };
  const metadata = child(root, 'metadata');
  if (metadata) def.metadata = metadata;
  const genid = child(root, 'genid');
  if (genid) {
    // An empty <genid/> asks for one: generated at define, as libvirt does, then kept.
    const value = genid.text ? normalizeUuid(genid.text) : randomUUID();
    if (value === undefined) throw xmlInvalid('genid', `malformed genid '${genid.text}'`);
    def.genid = value;
  }
  if (title !== undefined) def.title = title;
  if (description !== undefined) def.description = description;
  if (clockOffset !== undefined) def.clockOffset = clockOffset;
  else if (clockParsed !== undefined) def.clock = clockParsed;
  if (dumpCore !== undefined) def.dumpCore = oneOf(dumpCore, ['on', 'off'] as const, 'memory', 'dumpCore');
  if (def.os.acpiTables && !def.platform.acpi) throw xmlInvalid('acpi', 'ACPI tables need ACPI: add <features><acpi/></features>');
  const lockFailure = child(root, 'on_lockfailure')?.text;
  if (lockFailure !== undefined) def.onLockFailure = oneOf(lockFailure, ['poweroff', 'restart', 'pause', 'ignore'] as const, 'on_lockfailure', 'value');
  const cpu = child(root, 'cpu');
  if (cpu) def.cpu = parseCpu(cpu, vcpus);
  Object.assign(def, parseIothreads(root));
  checkIothreadPins(def);
  const cputuneEl = child(root, 'cputune');
  if (cputuneEl && def.cputune) Object.assign(def.cputune, parseThreadSchedulers(cputuneEl, def));
  const blkiotune = parseBlkiotune(child(root, 'blkiotune'));
  if (blkiotune) def.blkiotune = blkiotune;
  const memtune = parseMemtune(child(root, 'memtune'));
  if (memtune) def.memtune = memtune;
  const iothreadIds = iothreadIdsOf(def);
  for (const c of def.devices.controllers) {
    for (const m of c.iothreadMapping ?? [])
      if (!iothreadIds.includes(m.iothread))
        throw xmlInvalid('iothread', `<controller type='scsi' index='${c.index}'>: Cannot find 'iothread' : ${m.iothread}`);
  }
  const qemuCommandline = parseQemuCommandline(root);
  if (qemuCommandline) def.qemuCommandline = qemuCommandline;
  const seclabels = parseSeclabels(root);
  if (seclabels) def.seclabels = seclabels;
  const sysinfo = parseSysinfo(root, uuid);
  if (sysinfo) def.sysinfo = sysinfo;
  if (def.os.smbiosMode === 'sysinfo' && !sysinfo?.smbios) throw xmlInvalid('smbios', "mode='sysinfo' needs a <sysinfo type='smbios'>");
  const throttleGroups = child(root, 'throttlegroups');
  if (throttleGroups) def.throttleGroups = parseThrottleGroups(throttleGroups);
  const parsedLayout = parseMemoryLayout(root, vcpus, def.vcpuPlacement === 'auto');
  const { advisedNodeset, ...memoryLayout } = parsedLayout ?? {};
  if (parsedLayout) def.memoryLayout = memoryLayout;
  settleAutoPlacement(def, advisedNodeset);
  placeMemoryDevices(def.devices.memories, memoryLayout.maxMemory);
  def.devices.interfaces.forEach((iface, i) => {
    if (iface.mac === '') iface.mac = macFromUuid(uuid, i);
  });
  return def;
}

function parseOs(os: XmlElement | undefined): DomainDefinition['os'] {
  if (!os) throw xmlInvalid('domain', 'missing <os>');
  const typeEl = child(os, 'type');
  if (!typeEl) throw xmlInvalid('os', 'missing <type>');
  if (typeEl.text !== 'hvm') throw xmlUnsupported(`os type '${typeEl.text}'`, "is not supported (only 'hvm')");
  const arch = typeEl.attrs.arch ?? 'x86_64';
  if (arch !== 'x86_64' && arch !== 'i686') throw xmlUnsupported(`type arch='${arch}'`, 'is not supported (only x86_64 and i686)');
  const boot: BootDevice[] = [];
  const result: DomainDefinition['os'] = { arch, boot };
  for (const c of os.children) {
    switch (c.name) {
      case 'type':
      case 'firmware':
      case 'loader':
      case 'nvram':
        break; // parseFirmware()
      case 'kernel':
        result.kernel = nonEmpty(c, 'kernel');
        break;
      case 'initrd':
        result.initrd = nonEmpty(c, 'initrd');
        break;
      case 'cmdline':
        result.cmdline = c.text;
        break;
      case 'boot': {
        const dev = c.attrs.dev;
        if (dev !== 'hd' && dev !== 'cdrom' && dev !== 'network' && dev !== 'fd') {
          throw xmlInvalid('boot', `invalid boot device '${dev ?? ''}'`);
        }
        boot.push(dev);
        break;
      }
      case 'bootmenu': {
        const enable = c.attrs.enable === 'yes';
        result.bootMenu = { enable };
        if (c.attrs.timeout !== undefined) {
          const timeout = nonNegativeInt(c.attrs.timeout, 'bootmenu');
          if (timeout > 65535) throw xmlInvalid('bootmenu', `timeout '${timeout}' is over 65535 ms`);
          result.bootMenu.timeout = timeout;
        }
        break;
      }
      case 'acpi':
        for (const t of c.children) {
          if (t.name !== 'table') continue;
          const type = oneOf(t.attrs.type ?? '', ['raw', 'slic', 'msdm'] as const, 'table', 'type');
          (result.acpiTables ??= []).push({ type, path: nonEmpty(t, 'table') });
        }
        break;
      case 'bios':
        if (c.attrs.rebootTimeout !== undefined) {
          const t = Number(c.attrs.rebootTimeout);
          if (!Number.isInteger(t) || t < -1 || t > 65535) throw xmlInvalid('bios', `invalid rebootTimeout '${c.attrs.rebootTimeout}' (-1 to 65535)`);
          result.rebootTimeout = t;
        }
        break;
      default:
        break; // unsupportedParts() names it
    }
  }
  if (typeEl.attrs.machine) result.machine = typeEl.attrs.machine;
  const smbiosMode = parseOsSmbios(os);
  if (smbiosMode) result.smbiosMode = smbiosMode;
  const firmware = parseFirmware(os);
  if (firmware) result.firmware = firmware;
  return result;
}

function parseDevices(devices: XmlElement | undefined): DomainDefinition['devices'] {
  const result: DomainDefinition['devices'] = {
    disks: [],
    interfaces: [],
    serials: [],
    consoles: [],
    hostdevs: [],
    panics: [],
    controllers: [],
    channels: [],
    inputs: [],
    graphics: [],
    videos: [],
    sounds: [],
    audios: [],
    redirdevs: [],
    rngs: [],
    watchdogs: [],
  };
  if (!devices) return result;
  const d = result;
  for (const c of devices.children) {
    switch (c.name) {
      case 'emulator':
        d.emulator = nonEmpty(c, 'emulator');
        break;
      case 'disk':
        d.disks.push(parseDisk(c));
        break;
      case 'interface':
        d.interfaces.push(parseInterface(c));
        break;
      case 'serial':
        d.serials.push(parseSerial(c, d.serials.length));
        break;
      case 'console':
        d.consoles.push(parseConsole(c, d.consoles.length));
        break;
      case 'channel':
        d.channels.push(parseChannel(c, d.channels.length));
        break;
      case 'controller':
        d.controllers.push(parseController(c));
        break;
      case 'input':
        d.inputs.push(parseInput(c, d.inputs.length));
        break;
      case 'graphics':
        d.graphics.push(parseGraphics(c, d.graphics.length));
        break;
      case 'video':
        d.videos.push(parseVideo(c, d.videos.length));
        break;
      case 'sound':
        d.sounds.push(parseSound(c, d.sounds.length));
        break;
      case 'audio':
        d.audios.push(parseAudio(c));
        break;
      case 'redirdev':
        d.redirdevs.push(parseRedirdev(c, d.redirdevs.length));
        break;
      case 'rng':
        d.rngs.push(parseRng(c, d.rngs.length));
        break;
      case 'watchdog':
        d.watchdogs.push(parseWatchdog(c));
        break;
      case 'memballoon':
        if (d.memballoon) throw xmlInvalid('memballoon', 'only one <memballoon> is allowed');
        d.memballoon = parseMemballoon(c);
        break;
      case 'hostdev':
        d.hostdevs.push(parseHostdev(c));
        break;
      case 'panic':
        d.panics.push(parsePanic(c));
        break;
      case 'memory':
        (d.memories ??= []).push(parseMemoryDevice(c, d.memories?.length ?? 0));
        break;
      case 'filesystem':
        (d.filesystems ??= []).push(parseFilesystem(c, d.filesystems?.length ?? 0));
        break;
      case 'tpm':
        if (d.tpm) throw xmlUnsupported('tpm', 'only one TPM device is supported on x86');
        d.tpm = parseTpm(c);
        break;
      case 'iommu':
        assertOneIommu(d.iommu);
        d.iommu = parseIommu(c);
        break;
      case 'hub':
        (d.hubs ??= []).push(parseHub(c, d.hubs?.length ?? 0));
        break;
      case 'pstore':
        if (d.pstore) throw xmlInvalid('pstore', 'only one <pstore> is supported');
        d.pstore = parsePstore(c);
        break;
      case 'vsock':
        if (d.vsock) throw xmlInvalid('vsock', 'only one <vsock> is allowed');
        d.vsock = parseVsock(c);
        break;
      case 'smartcard':
        (d.smartcards ??= []).push(parseSmartcard(c, d.smartcards?.length ?? 0, d.smartcards ?? []));
        break;
      case 'lease':
        (d.leases ??= []).push(parseLease(c));
        break;
      case 'parallel':
        (d.parallels ??= []).push(parseParallel(c, d.parallels?.length ?? 0));
        break;
      case 'crypto':
        (d.cryptos ??= []).push(parseCrypto(c, d.cryptos?.length ?? 0));
        break;
      case 'shmem':
        (d.shmems ??= []).push(parseShmem(c, d.shmems?.length ?? 0));
        break;
      case 'redirfilter':
        if (d.redirfilter) throw xmlInvalid('redirfilter', 'only one <redirfilter> is allowed');
        d.redirfilter = parseRedirfilter(c);
        break;
      default:
        break; // unsupportedParts() names it
    }
  }
  if (d.sounds.filter((s) => s.model === 'pcspk').length > 1) throw xmlInvalid('sound', "a machine has one PC speaker: more than one <sound model='pcspk'>");
  d.videos = orderVideos(d.videos);
  checkFilesystems(d.filesystems ?? []);
  for (const type of ['vnc', 'spice', 'dbus'] as const) {
    if (d.graphics.filter((g) => g.type === type).length > 1)
      throw xmlUnsupported('graphics', `only 1 graphics device of each type (vnc, spice, dbus) is supported; this domain has more than one '${type}'`);
  }
  const targets = new Set<string>();
  for (const disk of d.disks) {
    if (targets.has(disk.target.dev)) throw xmlInvalid('target', `target '${disk.target.dev}' duplicated for disk sources`);
    targets.add(disk.target.dev);
  }
  return result;
}

function lifecycle(root: XmlElement, name: string, fallback: LifecycleAction): LifecycleAction {
  const text = child(root, name)?.text;
  if (text === undefined) return fallback;
  return oneOf(text, ['destroy', 'restart', 'preserve', 'rename-restart'] as const, name, 'value');
}

function crashAction(root: XmlElement): CrashAction {
  const text = child(root, 'on_crash')?.text;
  if (text === undefined) return 'destroy';
  return oneOf(text, ['destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart'] as const, 'on_crash', 'value');
}

function requiredText(parent: XmlElement, name: string, parentName: string): string {
  const text = child(parent, name)?.text;
  if (!text) throw xmlInvalid(parentName, `missing <${name}>`);
  return text;
}

function nonEmpty(el: XmlElement, name: string): string {
  if (!el.text) throw xmlInvalid(name, 'empty value');
  return el.text;
}
