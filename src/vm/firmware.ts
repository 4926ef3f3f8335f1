import { child, childrenNamed, el, type XmlElement } from '../shared/xml.js';
import { FerryError } from '../errors/ferry-error.js';
import type { ElementRule } from './schema/element-rule.js';
import { oneOf, yesNo } from './xml-values.js';
import { xmlInvalid } from './xml-errors.js';
import { NVRAM_SOURCE_RULE, type NvramNetwork, parseNvramNetwork, renderNvramNetworkSource } from './nvram-network.js';

/** The firmware features a <firmware><feature name=...> may ask for (libvirt's names, as in the descriptors). */
export const FIRMWARE_FEATURES = ['secure-boot', 'enrolled-keys'] as const;
export type FirmwareFeatureName = (typeof FIRMWARE_FEATURES)[number];

export type FirmwareImageFormat = 'raw' | 'qcow2';

/**
 * <os firmware=...>, <firmware>, <loader> and <nvram>: the firmware a VM boots
 * and its variable store. Every field is kept as written (tri-state), so the
 * definition renders back as it came; a host fills the rest from its firmware
 * descriptors at define (src/vm/firmware-select.ts).
 */
export interface FirmwareDefinition {
  /** <os firmware='efi'|'bios'>: choose from the host's descriptors. */
  auto?: 'efi' | 'bios';
  /** <firmware><feature enabled= name=/>: what the chosen firmware must (or must not) have. */
  features: Array<{ name: FirmwareFeatureName; enabled: boolean }>;
  loader?: LoaderDefinition;
  nvram?: NvramDefinition;
}

export interface LoaderDefinition {
  /** The firmware image (OVMF_CODE*.fd); absent until the host chose one. */
  path?: string;
  readonly?: boolean;
  /** pflash: a flash device (UEFI); rom: -bios (SeaBIOS). */
  type?: 'pflash' | 'rom';
  /** secure='yes': only SMM code may write the flash (cfi.pflash01's secure property). */
  secure?: boolean;
  /** stateless='yes': no variable store at all. */
  stateless?: boolean;
  format?: FirmwareImageFormat;
}

export interface NvramDefinition {
  /** The VM's own variable store; created from the template at the first start. */
  path?: string;
  template?: string;
  templateFormat?: FirmwareImageFormat;
  format?: FirmwareImageFormat;
  /** Written as <nvram type='file'><source file=.../></nvram> rather than as the element's text. */
  fileSource?: true;
  /** <nvram type='network'>: shared network storage (no path, no template); see src/vm/nvram-network.ts. */
  network?: NvramNetwork;
}

const FORMATS = ['raw', 'qcow2'] as const;
const YES_NO = ['yes', 'no'] as const;

/** The children and attributes of <os> this module applies. */
export const FIRMWARE_OS_ATTRS = { firmware: ['efi', 'bios'] } as const;
export const FIRMWARE_OS_CHILDREN: Readonly<Record<string, ElementRule>> = {
  firmware: { children: { feature: { attrs: { enabled: YES_NO, name: FIRMWARE_FEATURES } } } },
  loader: { attrs: { readonly: YES_NO, type: ['pflash', 'rom'], secure: YES_NO, stateless: YES_NO, format: FORMATS } },
  nvram: { attrs: { template: true, templateFormat: FORMATS, format: FORMATS, type: ['file', 'network'] }, children: { source: NVRAM_SOURCE_RULE } },
};

/** Reads the firmware parts of <os>; undefined when there are none (BIOS as QEMU's default). */
export function parseFirmware(os: XmlElement): FirmwareDefinition | undefined {
  const autoAttr = os.attrs.firmware;
  const fw = child(os, 'firmware');
  const loaderEl = child(os, 'loader');
  const nvramEl = child(os, 'nvram');
  if (autoAttr === undefined && !fw && !loaderEl && !nvramEl) return undefined;
  const result: FirmwareDefinition = { features: [] };
  if (autoAttr !== undefined) result.auto = oneOf(autoAttr, ['efi', 'bios'] as const, 'os', 'firmware');
  for (const f of fw ? childrenNamed(fw, 'feature') : []) {
    const name = oneOf(f.attrs.name ?? '', FIRMWARE_FEATURES, 'feature', 'name');
    const enabled = yesNo(f.attrs.enabled, 'feature', 'enabled');
    if (enabled === undefined) throw xmlInvalid('feature', `firmware feature '${name}' needs enabled='yes' or 'no'`);
    if (result.features.some((x) => x.name === name)) throw xmlInvalid('feature', `firmware feature '${name}' is given twice`);
    result.features.push({ name, enabled });
  }
  if (loaderEl) result.loader = parseLoader(loaderEl);
  if (nvramEl) result.nvram = parseNvram(nvramEl);
  return result;
}

function parseLoader(e: XmlElement): LoaderDefinition {
  const l: LoaderDefinition = {};
  const path = e.text.trim();
  if (path !== '') l.path = path;
  const readonly = yesNo(e.attrs.readonly, 'loader', 'readonly');
  if (readonly !== undefined) l.readonly = readonly;
  if (e.attrs.type !== undefined) l.type = oneOf(e.attrs.type, ['pflash', 'rom'] as const, 'loader', 'type');
  const secure = yesNo(e.attrs.secure, 'loader', 'secure');
  if (secure !== undefined) l.secure = secure;
  const stateless = yesNo(e.attrs.stateless, 'loader', 'stateless');
  if (stateless !== undefined) l.stateless = stateless;
  if (e.attrs.format !== undefined) l.format = oneOf(e.attrs.format, FORMATS, 'loader', 'format');
  return l;
}

function parseNvram(e: XmlElement): NvramDefinition {
  const n: NvramDefinition = {};
  if (e.attrs.type === 'network') n.network = parseNvramNetwork(e);
  const source = child(e, 'source');
  const path = e.attrs.type === 'file' ? (source?.attrs.file ?? '') : e.attrs.type === 'network' ? '' : e.text.trim();
  if (e.attrs.type === 'file') n.fileSource = true;
  if (path !== '') n.path = path;
  if (e.attrs.template !== undefined) n.template = e.attrs.template;
  if (e.attrs.templateFormat !== undefined) n.templateFormat = oneOf(e.attrs.templateFormat, FORMATS, 'nvram', 'templateFormat');
  if (e.attrs.format !== undefined) n.format = oneOf(e.attrs.format, FORMATS, 'nvram', 'format');
  return n;
}

/** <os firmware=...>'s attribute, rendered on <os>. */
export function firmwareOsAttrs(fw: FirmwareDefinition | undefined): Record<string, string | undefined> {
  return { firmware: fw?.auto };
}

/** <firmware>, <loader>, <nvram> in libvirt's order (after <type>, before <kernel>/<boot>). */
export function renderFirmware(fw: FirmwareDefinition | undefined): Array<XmlElement | undefined> {
  if (!fw) return [];
  const yn = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'yes' : 'no');
  const l = fw.loader;
  const n = fw.nvram;
  return [
    fw.features.length === 0
      ? undefined
      : el(
          'firmware',
          {},
          fw.features.map((f) => el('feature', { enabled: yn(f.enabled), name: f.name })),
        ),
    l === undefined
      ? undefined
      : el('loader', { readonly: yn(l.readonly), secure: yn(l.secure), type: l.type, stateless: yn(l.stateless), format: l.format }, l.path ?? ''),
    n === undefined
      ? undefined
      : n.network
        ? el('nvram', { template: n.template, templateFormat: n.templateFormat, type: 'network', format: n.format }, [renderNvramNetworkSource(n.network)])
        : n.fileSource
          ? el('nvram', { template: n.template, templateFormat: n.templateFormat, type: 'file', format: n.format }, [
              n.path === undefined ? undefined : el('source', { file: n.path }),
            ])
          : el('nvram', { template: n.template, templateFormat: n.templateFormat, format: n.format }, n.path ?? ''),
  ];
}

/** Whether the firmware keeps per-VM variables (a UEFI pflash with an NVRAM), and so needs a vars file. */
export function hasNvram(fw: FirmwareDefinition | undefined): boolean {
  if (!fw) return false;
  if (fw.loader?.stateless || fw.loader?.type === 'rom' || fw.auto === 'bios') return false;
  if (fw.nvram !== undefined) return true;
  return fw.auto === 'efi' || ((fw.loader?.type ?? 'pflash') === 'pflash' && fw.loader?.readonly === true);
}

/** The feature's wish: true (must have), false (must not have) or undefined (either). */
export function featureWish(fw: FirmwareDefinition, name: FirmwareFeatureName): boolean | undefined {
  return fw.features.find((f) => f.name === name)?.enabled;
}

function conflict(element: string, message: string): FerryError {
  return new FerryError('FIRMWARE_CONFLICT', `unsupported configuration: ${message}`, { details: { element } });
}

/**
 * libvirt's rules for a firmware definition that contradicts itself or its
 * machine, thrown as FIRMWARE_CONFLICT naming the element. `smm` is
 * <features><smm state=...> (undefined: not given), `q35` the machine family.
 */
export function checkFirmware(fw: FirmwareDefinition | undefined, smm: boolean | undefined, q35: boolean): void {
  if (!fw) return;
  const secureWish = featureWish(fw, 'secure-boot');
  const keysWish = featureWish(fw, 'enrolled-keys');
  // A BIOS has neither feature: libvirt writes them disabled for <os firmware='bios'>.
  const biosSaysNo = fw.auto === 'bios' && fw.features.every((f) => !f.enabled);
  if (fw.features.length > 0 && fw.auto !== 'efi' && !biosSaysNo) {
    throw conflict('firmware', "<firmware><feature enabled='yes'> chooses among the host's UEFI firmware: it needs <os firmware='efi'>");
  }
  if (keysWish === true && secureWish === false) {
    throw conflict('firmware', "firmware feature 'enrolled-keys' cannot be enabled when firmware feature 'secure-boot' is disabled");
  }
  const l = fw.loader;
  if (l?.secure === true && secureWish === false) {
    throw conflict('loader', "<loader secure='yes'> contradicts <feature enabled='no' name='secure-boot'/>");
  }
  if (l?.secure === false && secureWish === true) {
    throw conflict('loader', "<loader secure='no'> contradicts <feature enabled='yes' name='secure-boot'/>");
  }
  if (l?.secure === true) {
    if (!q35) throw conflict('loader', 'Secure boot is supported with q35 machine types only');
    if (smm === false) throw conflict('loader', "Secure boot requires SMM feature enabled: <features><smm state='on'/>");
  }
  if (secureWish === true && smm === false) {
    throw conflict('firmware', "firmware feature 'secure-boot' needs SMM, but <features><smm state='off'/> turns it off");
  }
  if (fw.auto === 'bios' && (l?.type === 'pflash' || fw.nvram)) {
    throw conflict('os', "<os firmware='bios'> boots a ROM: it takes no pflash <loader> and no <nvram>");
  }
  if (l?.type === 'rom' && fw.nvram) throw conflict('nvram', "a <loader type='rom'> has no variable store: remove <nvram>");
  if (l?.stateless === true && fw.nvram) throw conflict('nvram', "<loader stateless='yes'> has no variable store: remove <nvram>");
  if (fw.nvram && l?.readonly === false) {
    throw conflict('loader', "<nvram> needs a read-only loader (<loader readonly='yes'>): a writable pflash keeps the variables in the loader itself");
  }
  if (fw.nvram?.network && (fw.nvram.template !== undefined || fw.nvram.templateFormat !== undefined)) {
    // libvirt's rule: a store on network storage is never created (nor reset) from a template.
    throw conflict('nvram', 'NVRAM template is not permitted when NVRAM is of network type: ferry never creates nor resets a store on shared storage');
  }
  if (fw.nvram?.format !== undefined && fw.nvram.templateFormat !== undefined && fw.nvram.format !== fw.nvram.templateFormat) {
    throw conflict(
      'nvram',
      `the NVRAM's format '${fw.nvram.format}' differs from its template's '${fw.nvram.templateFormat}': ferry copies the template as it is`,
    );
  }
}
