import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FirmwareDescriptor } from '../vm/firmware-select.js';

/** Where QEMU's firmware descriptors are, lowest priority first (docs/interop/firmware.json): a later file of the same name wins. */
export const FIRMWARE_DESCRIPTOR_DIRS = ['/usr/share/qemu/firmware', '/etc/qemu/firmware'] as const;

/**
 * Reads the host's firmware descriptors as libvirt does: every *.json of the
 * directories, a file in /etc/qemu/firmware replacing the one of the same
 * name under /usr/share (an empty one hides it), sorted by file name, which
 * is their priority. Descriptors that cannot be read are skipped.
 */
export function readFirmwareDescriptors(dirs: readonly string[] = FIRMWARE_DESCRIPTOR_DIRS): FirmwareDescriptor[] {
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.json')) byName.set(f, join(dir, f));
  }
  const out: FirmwareDescriptor[] = [];
  for (const [name, path] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    try {
      if (statSync(path).size === 0) continue;
      const d = parseDescriptor(name, JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
      if (d) out.push(d);
    } catch {
      // A broken descriptor is not firmware anyone can choose.
    }
  }
  return out;
}

function parseDescriptor(file: string, j: Record<string, unknown>): FirmwareDescriptor | undefined {
  const mapping = j.mapping as Record<string, unknown> | undefined;
  if (!mapping || typeof mapping.device !== 'string') return undefined;
  const image = (v: unknown): FirmwareDescriptor['executable'] => {
    const o = v as { filename?: unknown; format?: unknown } | undefined;
    if (!o || typeof o.filename !== 'string') return undefined;
    return { filename: o.filename, format: o.format === 'qcow2' ? 'qcow2' : 'raw' };
  };
  const mode = mapping.mode === 'combined' || mapping.mode === 'stateless' ? mapping.mode : 'split';
  const d: FirmwareDescriptor = {
    file,
    interfaceTypes: Array.isArray(j['interface-types']) ? (j['interface-types'] as unknown[]).map(String) : [],
    device: mapping.device,
    mode,
    targets: Array.isArray(j.targets)
      ? (j.targets as Array<Record<string, unknown>>).map((t) => ({
          architecture: String(t.architecture),
          machines: Array.isArray(t.machines) ? t.machines.map(String) : [],
        }))
      : [],
    features: Array.isArray(j.features) ? (j.features as unknown[]).map(String) : [],
  };
  // A memory device (SeaBIOS) names its image 'filename'; flash names 'executable'.
  const executable = mapping.device === 'memory' ? image(mapping) : image(mapping.executable);
  if (executable) d.executable = executable;
  const template = image(mapping['nvram-template']);
  if (template) d.nvramTemplate = template;
  return d;
}
