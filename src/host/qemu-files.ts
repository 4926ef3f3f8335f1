import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { ResolvedDiskSource } from '../qemu/argv.js';
import type { CharSource, DiskBackingStore, DiskDefinition, DomainDefinition, HostdevDefinition } from '../vm/definition.js';
import { backingLayers } from '../vm/devices/disk-backing.js';
import { agentSockets } from '../vm/devices/disk.js';
import type { QemuFile } from './qemu-file-access.js';
import { hasNvram } from '../vm/firmware.js';
import { shmemMemPath } from '../qemu/devices/shmem.js';
import { NSS_DATABASE_FILES } from './smartcard-databases.js';
import { smartcardDatabases } from '../vm/devices/smartcard.js';

/**
 * Every file QEMU opens for a (live) definition: kernel and initrd, each
 * disk's image and its qcow2 backing chain, serial output and log files, a
 * serial socket's directory, and the device nodes of passed-through hosts
 * devices. What ferryd opens for QEMU (taps, the domain log) is not listed.
 */
export function qemuFilesOf(def: DomainDefinition, resolveDisk: (disk: DiskDefinition) => ResolvedDiskSource): QemuFile[] {
  const files: QemuFile[] = [];
  if (def.os.kernel) files.push({ path: def.os.kernel, access: 'r', what: 'kernel' });
  if (def.os.initrd) files.push({ path: def.os.initrd, access: 'r', what: 'initrd' });
  for (const t of def.os.acpiTables ?? []) files.push({ path: t.path, access: 'r', what: `ACPI table (${t.type})` });
  const fw = def.os.firmware;
  if (fw?.loader?.path)
    files.push({ path: fw.loader.path, access: fw.loader.readonly === true || fw.loader.type === 'rom' ? 'r' : 'rw', what: 'firmware loader' });
  if (fw?.nvram?.path && hasNvram(fw)) files.push({ path: fw.nvram.path, access: 'rw', what: 'UEFI variable store (NVRAM)' });
  for (const disk of def.devices.disks) {
    const src = resolveDisk(disk);
    if (src.kind === 'network') files.push(...backingFiles(disk, undefined));
    if (src.kind !== 'file' && src.kind !== 'block') continue;
    // A <transient/> disk's image is only read: the guest writes into its overlay (granted by the launcher).
    const writable = !disk.readonly && disk.device !== 'cdrom' && !disk.transient;
    files.push({ path: src.path, access: writable ? 'rw' : 'r', what: `storage file of disk ${disk.target.dev}` });
    files.push(...backingFiles(disk, src.path));
  }
  // QEMU's ssh disks talk to the ssh-agent of <identity agentsock>: its user must be able to connect to the socket.
  for (const sock of agentSockets(def)) files.push({ path: sock, access: 'rw', what: 'ssh-agent socket of an ssh disk' });
  const d = def.devices;
  const charDevices: Array<[CharSource, string]> = [
    ...d.serials.map((s): [CharSource, string] => [s, `serial${s.port}`]),
    ...(d.parallels ?? []).map((p): [CharSource, string] => [p, `parallel${p.targetPort}`]),
    ...(d.smartcards ?? []).flatMap((s, i): Array<[CharSource, string]> => (s.mode === 'passthrough' ? [[s, `smartcard${i}`]] : [])),
    ...d.consoles.filter((c) => c.targetType === 'virtio').map((c, i): [CharSource, string] => [c, `console${i}`]),
    ...d.channels.map((c): [CharSource, string] => [c, `channel ${c.targetName ?? ''}`]),
    ...d.redirdevs.map((r, i): [CharSource, string] => [r, `redirdev${i}`]),
    ...d.rngs.flatMap((r, i): Array<[CharSource, string]> => (r.backend.model === 'egd' ? [[r.backend, `rng${i} egd`]] : [])),
  ];
  for (const [s, what] of charDevices) files.push(...charFiles(s, what));
  for (const a of d.audios)
    if (a.type === 'file' && a.path?.startsWith('/')) files.push({ path: a.path, access: 'create-in-dir', what: `audio ${a.id} WAV file` });
  // A host-certificates smartcard's NSS database: QEMU (libcacard) opens the directory and its files read-only.
  for (const db of smartcardDatabases(def)) files.push(...nssDatabaseFiles(db));
  for (const r of d.rngs) if (r.backend.model === 'random') files.push({ path: r.backend.path, access: 'r', what: 'random number source' });
  (d.memories ?? []).forEach((m, i) => {
    if (m.path !== undefined) files.push({ path: m.path, access: 'rw', what: `backing file of <memory model='${m.model}'> #${i}`, create: true });
  });
  // The pstore file QEMU maps (shared): created at its size if missing, as libvirt does.
  if (d.pstore) files.push({ path: d.pstore.path, access: 'rw', what: "<pstore backend='acpi-erst'> file", create: true });
  // ivshmem-plain's memory (QEMU sizes it; other domains naming it share it) and a doorbell's server socket.
  for (const s of d.shmems ?? []) {
    if (s.model === 'ivshmem-plain') files.push({ path: shmemMemPath(s.name), access: 'rw', what: `<shmem> '${s.name}' memory`, create: true });
    else if (s.server?.path) files.push({ path: s.server.path, access: 'rw', what: `<shmem> '${s.name}' server socket` });
  }
  d.interfaces.forEach((n, i) => {
    if (n.rom?.file) files.push({ path: n.rom.file, access: 'r', what: `option ROM of interface ${i}` });
  });
  for (const h of def.devices.hostdevs) {
    for (const node of hostdevNodes(h)) files.push({ path: node, access: 'rw', what: `host device ${h.address}` });
  }
  return files;
}

/**
 * The backing files QEMU opens read-only under a disk: the layers its
 * <backingStore> names, then (when the chain is not closed with an empty
 * <backingStore/>) the chain the last qcow2 image's header names.
 */
function backingFiles(disk: DiskDefinition, top: string | undefined): QemuFile[] {
  const what = `backing file of disk ${disk.target.dev}`;
  const files: QemuFile[] = [];
  let last: { format: string; path?: string; backingStore?: DiskBackingStore | null } = { format: disk.format, path: top, backingStore: disk.backingStore };
  for (const layer of backingLayers(disk)) {
    const path = layer.type === 'file' ? layer.source.file : layer.type === 'block' ? layer.source.dev : undefined;
    if (path !== undefined) files.push({ path, access: 'r', what });
    last = { format: layer.format, path, backingStore: layer.backingStore };
  }
  if (last.format === 'qcow2' && last.backingStore === undefined && last.path !== undefined) {
    for (const backing of backingChain(last.path)) files.push({ path: backing, access: 'r', what });
  }
  return files;
}

/** The files a character device's host side opens: its output file, its socket, its log. */
function charFiles(s: CharSource, what: string): QemuFile[] {
  const files: QemuFile[] = [];
  if (s.type === 'file' && s.sourcePath) files.push({ path: s.sourcePath, access: 'rw', what: `${what} output file`, create: true });
  if (s.type === 'unix' && s.sourcePath) {
    files.push(
      s.sourceMode === 'connect'
        ? { path: s.sourcePath, access: 'rw', what: `${what} socket` }
        : { path: s.sourcePath, access: 'create-in-dir', what: `${what} socket` },
    );
  }
  if (s.type === 'pipe' && s.sourcePath) files.push(...pipeFiles(s.sourcePath, what));
  if (s.logFile) files.push({ path: s.logFile, access: 'rw', what: `${what} log file`, create: true });
  return files;
}

/**
 * The FIFOs of a pipe: QEMU opens path.in and path.out when both exist, else
 * path itself (libvirt's DAC driver labels them the same way). They are the
 * user's to make (mkfifo); a missing one is named by QEMU's own error.
 */
function pipeFiles(path: string, what: string, exists: (p: string) => boolean = existsSync): QemuFile[] {
  const pair = [`${path}.in`, `${path}.out`];
  if (pair.every(exists)) return pair.map((p) => ({ path: p, access: 'rw', what: `${what} pipe` }));
  return [{ path, access: 'rw', what: `${what} pipe` }];
}

/**
 * Host devices every QEMU may need beyond its definition: /dev/userfaultfd,
 * through which an unprivileged QEMU gets the userfaultfd post-copy migration
 * needs (QEMU 8.1+ opens it when vm.unprivileged_userfaultfd is 0, as libvirt
 * lets it).
 */
export function qemuHostDevices(exists: (path: string) => boolean = existsSync): QemuFile[] {
  return exists('/dev/userfaultfd') ? [{ path: '/dev/userfaultfd', access: 'rw', what: 'userfaultfd device (post-copy migration)' }] : [];
}

/**
 * The backing files of a qcow2 image, read from the qcow2 headers (no
 * qemu-img run per start): a relative name is relative to the image's
 * directory; protocol and json: names are not files and end the walk.
 */
export function backingChain(image: string, maxDepth = 16): string[] {
  const chain: string[] = [];
  let current = image;
  for (let depth = 0; depth < maxDepth; depth++) {
    const name = qcow2BackingName(current);
    if (!name || name.startsWith('json:') || /^[a-z+]+:\/\//.test(name)) break;
    current = isAbsolute(name) ? name : join(dirname(current), name);
    chain.push(current);
  }
  return chain;
}

/** The backing file name in a qcow2 header (offset at byte 8, length at byte 16), or undefined. */
function qcow2BackingName(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(20);
    if (readSync(fd, head, 0, 20, 0) < 20 || head.readUInt32BE(0) !== 0x514649fb) return undefined;
    const offset = head.readBigUInt64BE(8);
    const size = head.readUInt32BE(16);
    if (offset === 0n || size === 0 || size > 4096) return undefined;
    const name = Buffer.alloc(size);
    readSync(fd, name, 0, size, Number(offset));
    return name.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The /dev nodes QEMU opens for a host device: its VFIO group, or the USB device node. */
function hostdevNodes(h: HostdevDefinition, sys = '/sys'): string[] {
  try {
    switch (h.type) {
      case 'pci':
        return [`/dev/vfio/${basename(readlinkSync(`${sys}/bus/pci/devices/${h.address}/iommu_group`))}`];
      case 'mdev':
        return [`/dev/vfio/${basename(readlinkSync(`${sys}/bus/mdev/devices/${h.address}/iommu_group`))}`];
      case 'usb': {
        const [vendor, product] = h.address.split(':');
        for (const d of readdirSync(`${sys}/bus/usb/devices`)) {
          const base = `${sys}/bus/usb/devices/${d}`;
          const read = (f: string): string => readFileSync(`${base}/${f}`, 'utf8').trim();
          try {
            if (read('idVendor') === vendor && read('idProduct') === product) {
              return [`/dev/bus/usb/${read('busnum').padStart(3, '0')}/${read('devnum').padStart(3, '0')}`];
            }
          } catch {
            // an interface, not a device
          }
        }
        return [];
      }
      case 'scsi':
        return [];
    }
  } catch {
    return []; // not present on this host: QEMU's own error names it
  }
}

/**
 * The files NSS reads in a database directory (sql: cert9.db, key4.db, pkcs11.txt; legacy dbm: cert8.db,
 * key3.db, secmod.db); those absent are skipped by the grant. The directory itself is only passed through.
 */
function nssDatabaseFiles(dir: string): QemuFile[] {
  return NSS_DATABASE_FILES.map((f): QemuFile => ({ path: join(dir, f), access: 'r', what: `smartcard certificate database ${dir}` }));
}
