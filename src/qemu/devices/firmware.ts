import { FerryError } from '../../errors/ferry-error.js';
import type { DomainDefinition } from '../../vm/definition.js';
import { hasNvram } from '../../vm/firmware.js';
import { networkProtocolNode } from './disk-protocol.js';
import { NVRAM_AUTH_SECRET_ID } from './disk-secrets.js';

/** The QEMU arguments of a definition's firmware: -blockdev nodes, -machine's pflash options, -bios, the pflash secure global. */
export interface FirmwareArgs {
  /** Before -machine: the -blockdev nodes of the code (pflash0) and the variables (pflash1). */
  blockdevs: string[];
  /** -machine options: pflash0=, pflash1=. */
  machineOptions: string[];
  /** After -cpu: -bios for a ROM, -global driver=cfi.pflash01,property=secure,value=on for Secure Boot. */
  globals: string[];
}

/**
 * As libvirt 11 builds them (tests/qemuxmlconfdata/firmware-*.args): the code
 * as a raw/qcow2 format node over a file node (libvirt-pflash0-*), the vars as
 * a writable file node (raw) or a qcow2 node over it (libvirt-pflash1-*).
 */
export function firmwareArgs(def: DomainDefinition): FirmwareArgs {
  const out: FirmwareArgs = { blockdevs: [], machineOptions: [], globals: [] };
  const fw = def.os.firmware;
  if (!fw || (fw.auto === 'bios' && fw.loader?.path === undefined)) return out;
  const loader = fw.loader;
  if (loader?.path === undefined) {
    throw new FerryError(
      'FIRMWARE_NOT_FOUND',
      "operation failed: <os firmware='efi'> has no firmware chosen yet: define the domain on a host with firmware descriptors",
      { details: { element: 'loader' } },
    );
  }
  if (loader.type === 'rom' || fw.auto === 'bios') {
    out.globals.push('-bios', loader.path);
    return out;
  }
  const codeFormat = loader.format ?? 'raw';
  out.blockdevs.push(
    JSON.stringify({ driver: 'file', filename: loader.path, 'node-name': 'libvirt-pflash0-storage', 'auto-read-only': true, discard: 'unmap' }),
    JSON.stringify({
      'node-name': 'libvirt-pflash0-format',
      'read-only': loader.readonly === true,
      driver: codeFormat,
      file: 'libvirt-pflash0-storage',
      ...(codeFormat === 'qcow2' ? { backing: null } : {}),
    }),
  );
  out.machineOptions.push('pflash0=libvirt-pflash0-format');
  if (hasNvram(fw) && loader.readonly !== false) {
    const storage = nvramStorage(def);
    if ((fw.nvram?.format ?? 'raw') === 'qcow2') {
      out.blockdevs.push(
        JSON.stringify({ ...storage, 'node-name': 'libvirt-pflash1-storage', 'auto-read-only': true, discard: 'unmap' }),
        JSON.stringify({ 'node-name': 'libvirt-pflash1-format', 'read-only': false, driver: 'qcow2', file: 'libvirt-pflash1-storage', backing: null }),
      );
      out.machineOptions.push('pflash1=libvirt-pflash1-format');
    } else {
      out.blockdevs.push(JSON.stringify({ ...storage, 'node-name': 'libvirt-pflash1-storage', 'read-only': false }));
      out.machineOptions.push('pflash1=libvirt-pflash1-storage');
    }
  }
  if (loader.secure === true) out.globals.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
  return out;
}

/**
 * The protocol node of the variable store: its file, or (<nvram type='network'>)
 * the same nbd/iscsi node a network disk gets, with the iSCSI CHAP secret.
 */
function nvramStorage(def: DomainDefinition): Record<string, unknown> {
  const n = def.os.firmware?.nvram;
  if (n?.network) {
    const node = networkProtocolNode(n.network.source, 'nvram');
    return n.network.auth ? { ...node, user: n.network.auth.username, 'password-secret': NVRAM_AUTH_SECRET_ID } : node;
  }
  if (n?.path === undefined) {
    throw new FerryError('NVRAM_FAILED', 'operation failed: the domain has no <nvram> path: define it on a host (which names one) or give one', {
      details: { element: 'nvram' },
    });
  }
  return { driver: 'file', filename: n.path };
}
