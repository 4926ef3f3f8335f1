import { el, type XmlElement } from '../shared/xml.js';
import type { ElementRule } from './schema/element-rule.js';
import { xmlInvalid } from './xml-errors.js';

/** libvirt's QEMU namespace: <domain xmlns:qemu='...'> with <qemu:commandline>. */
export const QEMU_NAMESPACE = 'http://libvirt.org/schemas/domain/qemu/1.0';

/** <qemu:commandline>: extra QEMU arguments and environment, applied literally (libvirt taints such a domain 'custom-argv'). */
export interface QemuCommandline {
  /** <qemu:arg value=>: appended to QEMU's argv, in order. */
  args: string[];
  /** <qemu:env name= value=>: set in QEMU's environment (no value: the empty string). */
  env: Array<{ name: string; value?: string }>;
}

export const QEMU_COMMANDLINE_RULE: ElementRule = {
  children: {
    'qemu:arg': { attrs: { value: true } },
    'qemu:env': { attrs: { name: true, value: true } },
  },
};

/** The domain's <qemu:commandline>, if any; the prefix must be bound to libvirt's QEMU namespace. */
export function parseQemuCommandline(root: XmlElement): QemuCommandline | undefined {
  const blocks = root.children.filter((c) => c.name === 'qemu:commandline');
  if (blocks.length === 0) return undefined;
  if (root.attrs['xmlns:qemu'] !== QEMU_NAMESPACE) {
    throw xmlInvalid('qemu:commandline', `the prefix 'qemu' must be bound to ${QEMU_NAMESPACE} (xmlns:qemu on <domain>)`);
  }
  const result: QemuCommandline = { args: [], env: [] };
  for (const block of blocks) {
    for (const c of block.children) {
      if (c.name === 'qemu:arg') {
        const value = c.attrs.value;
        if (value === undefined) throw xmlInvalid('qemu:arg', 'missing value attribute');
        result.args.push(value);
      } else if (c.name === 'qemu:env') {
        const name = c.attrs.name;
        // libvirt's rule for an environment name: a letter or '_' first, then letters, digits and '_'.
        if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw xmlInvalid('qemu:env', `invalid environment name '${name ?? ''}'`);
        result.env.push(c.attrs.value === undefined ? { name } : { name, value: c.attrs.value });
      }
    }
  }
  return result;
}

export function renderQemuCommandline(cmd: QemuCommandline): XmlElement {
  return el('qemu:commandline', {}, [
    ...cmd.args.map((value) => el('qemu:arg', { value })),
    ...cmd.env.map((e) => el('qemu:env', { name: e.name, value: e.value })),
  ]);
}

/** QEMU's environment: ferry's own (PATH, LC_ALL) plus the definition's <qemu:env> entries. */
export function qemuEnvironment(cmd: QemuCommandline | undefined, base: Record<string, string>): Record<string, string> {
  const env = { ...base };
  for (const e of cmd?.env ?? []) env[e.name] = e.value ?? '';
  return env;
}
