import { FerryError } from '../../errors/ferry-error.js';
import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { Placed } from '../definition.js';
import { toBytes } from '../memory-units.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { oneOf, positiveInt, yesNo } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

export const SHMEM_MODELS = ['ivshmem-plain', 'ivshmem-doorbell'] as const;
export const SHMEM_ROLES = ['master', 'peer'] as const;

/** libvirt's size when <size> is absent (ivshmem-plain): 4 MiB. */
export const SHMEM_DEFAULT_BYTES = 4 * 1024 * 1024;

/**
 * <shmem name=...>: an inter-VM shared memory PCI device (QEMU's ivshmem).
 * ivshmem-plain maps /dev/shm/NAME (a memory-backend-file, share=on), so every
 * domain on the host with a <shmem> of that name shares the memory;
 * ivshmem-doorbell gets its memory and its interrupts from an ivshmem server
 * on a unix socket (<server path=...>; without a path, the host's default,
 * HostPaths.shmemSocket: STATE_DIR/shmem-NAME-sock, as libvirt's
 * /var/lib/libvirt/shmem-NAME-sock). Only role='master' migrates (QEMU copies
 * the memory); libvirt refuses the others, and so does ferry's pre-flight.
 */
export interface ShmemDefinition extends Placed {
  name: string;
  model: (typeof SHMEM_MODELS)[number];
  /** QEMU's master=on (master) / master=off (peer); absent: QEMU's default (off). */
  role?: (typeof SHMEM_ROLES)[number];
  /** ivshmem-plain: the memory's size in bytes (a power of two, at least 1 MiB). */
  sizeBytes?: number;
  /** ivshmem-doorbell: the server's socket (path absent: the host's default socket for NAME). */
  server?: { path?: string };
  /** ivshmem-doorbell: MSI vectors and ioeventfd (libvirt turns ioeventfd on when not given). */
  vectors?: number;
  ioeventfd?: boolean;
}

const label = (name: string | undefined, index: number): string => (name === undefined ? `<shmem> #${index}` : `<shmem> '${name}'`);

export const SHMEM_RULE: ElementRule = {
  attrs: { name: true, role: SHMEM_ROLES },
  label: (e, i) => label(e.attrs.name, i),
  children: {
    model: {
      attrs: { type: SHMEM_MODELS },
      refusedValues: {
        'type=ivshmem': "QEMU removed the legacy 'ivshmem' device in 4.0; use <model type='ivshmem-plain'/> (or 'ivshmem-doorbell' with a <server>)",
      },
    },
    size: { attrs: { unit: true } },
    server: { attrs: { path: true } },
    msi: { attrs: { vectors: true, ioeventfd: ['on', 'off'] } },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseShmem(e: XmlElement, index: number): ShmemDefinition {
  const name = e.attrs.name;
  const where = label(name, index);
  if (name === undefined || name === '') throw xmlInvalid('shmem', "shmem element must contain 'name' attribute");
  // ivshmem-plain's memory is /dev/shm/NAME: a name must not leave that directory.
  if (name.includes('/') || name === '.' || name === '..') throw xmlInvalid('shmem', `shmem name '${name}' must not contain '/'`);
  // No <model>: libvirt's legacy 'ivshmem', which QEMU no longer has (unsupportedParts() names model='ivshmem').
  const modelType = child(e, 'model')?.attrs.type;
  if (modelType === undefined)
    throw xmlUnsupported(
      'shmem',
      `${where}: without <model type=...> is QEMU's legacy 'ivshmem' device, removed in QEMU 4.0; use <model type='ivshmem-plain'/>`,
    );
  // Other models: unsupportedParts() names them, with why.
  if (!(SHMEM_MODELS as readonly string[]).includes(modelType)) throw xmlUnsupported('shmem', `${where}: model '${modelType}' is not supported`);
  const model = modelType as ShmemDefinition['model'];
  const result: ShmemDefinition = { name, model, ...parsePlacement(e, where) };
  if (result.address && result.address.type !== 'pci') {
    throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: ${where}: only 'pci' addresses are supported for the shared memory device`, {
      details: { element: 'address' },
    });
  }
  if (e.attrs.role !== undefined) result.role = oneOf(e.attrs.role, SHMEM_ROLES, 'shmem', 'role');
  const size = child(e, 'size');
  const server = child(e, 'server');
  const msi = child(e, 'msi');
  if (model === 'ivshmem-plain') {
    // libvirt's checks (qemuDomainShmemDefPostParse), in its words.
    if (server) throw xmlUnsupported('shmem', `${where}: shmem model 'ivshmem-plain' is supported only with server option disabled`);
    if (msi) throw xmlUnsupported('shmem', `${where}: shmem model 'ivshmem-plain' doesn't support msi`);
    const bytes = size ? toBytes(size.text, size.attrs.unit, 'size') : SHMEM_DEFAULT_BYTES;
    if (bytes < 1024 * 1024) throw xmlInvalid('size', `${where}: shmem size must be at least 1 MiB (1024 KiB)`);
    if ((bytes & (bytes - 1)) !== 0 || bytes > 2 ** 52) throw xmlInvalid('size', `${where}: shmem size must be a power of two`);
    result.sizeBytes = bytes;
    return result;
  }
  if (!server) throw xmlUnsupported('shmem', `${where}: shmem model 'ivshmem-doorbell' is supported only with server option enabled`);
  if (size) throw xmlUnsupported('shmem', `${where}: shmem model 'ivshmem-doorbell' does not support size setting (the server sizes the memory)`);
  const path = server.attrs.path;
  if (path !== undefined && !path.startsWith('/')) throw xmlInvalid('server', `${where}: server path '${path}' is not an absolute path`);
  result.server = path === undefined ? {} : { path };
  const vectors = msi?.attrs.vectors;
  if (vectors !== undefined) result.vectors = positiveInt(vectors, 'msi');
  result.ioeventfd = yesNo(msi?.attrs.ioeventfd, 'msi', 'ioeventfd') ?? true;
  return result;
}

/** libvirt writes the size in MiB. */
function renderSize(bytes: number): XmlElement {
  return bytes % (1024 * 1024) === 0 ? el('size', { unit: 'M' }, String(bytes / (1024 * 1024))) : el('size', { unit: 'b' }, String(bytes));
}

export function renderShmem(s: ShmemDefinition, live: boolean): XmlElement {
  return el('shmem', { name: s.name, role: s.role }, [
    el('model', { type: s.model }),
    s.sizeBytes === undefined ? undefined : renderSize(s.sizeBytes),
    s.server ? el('server', { path: s.server.path }) : undefined,
    s.model === 'ivshmem-doorbell' ? el('msi', { vectors: s.vectors, ioeventfd: s.ioeventfd === false ? 'off' : 'on' }) : undefined,
    ...renderPlacement(s, live),
  ]);
}
