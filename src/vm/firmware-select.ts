import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition } from './definition.js';
import { type FirmwareDefinition, type FirmwareImageFormat, FIRMWARE_FEATURES, featureWish, hasNvram } from './firmware.js';

/**
 * One firmware descriptor (QEMU's docs/interop/firmware.json), as the host's
 * /usr/share/qemu/firmware/*.json describe the installed firmware.
 */
export interface FirmwareDescriptor {
  /** The file it came from (its name orders the descriptors: 40-... before 60-...). */
  file: string;
  interfaceTypes: string[];
  device: string;
  /** flash mode: split (code + vars template), combined, stateless. */
  mode: 'split' | 'combined' | 'stateless';
  executable?: { filename: string; format: FirmwareImageFormat };
  nvramTemplate?: { filename: string; format: FirmwareImageFormat };
  targets: Array<{ architecture: string; machines: string[] }>;
  features: string[];
}

export interface FirmwareChoice {
  firmware: FirmwareDefinition;
  /** <features><smm state='on'/> when the chosen firmware requires SMM and the definition did not say. */
  smm?: boolean;
}

/** fnmatch-style machine globs of the descriptors ("pc-q35-*"). */
function globMatches(glob: string, machine: string): boolean {
  const re = new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(machine);
}

/** Why a descriptor does not fit, or undefined when it does (libvirt's qemuFirmwareMatchDomain). */
function mismatch(d: FirmwareDescriptor, fw: FirmwareDefinition, machine: string, smm: boolean | undefined, s3: boolean | undefined): string | undefined {
  const want = fw.auto === 'bios' ? 'bios' : 'uefi';
  if (!d.interfaceTypes.includes(want)) return `not ${want}`;
  if (!d.targets.some((t) => t.architecture === 'x86_64' && t.machines.some((g) => globMatches(g, machine)))) return `not for ${machine}`;
  const l = fw.loader;
  if (want === 'uefi') {
    if (d.device !== 'flash' || l?.type === 'rom') return 'not a flash device';
    if ((l?.stateless === true) !== (d.mode === 'stateless')) return `mode ${d.mode}`;
    if (d.mode === 'combined') return 'combined code and vars';
  }
  for (const name of FIRMWARE_FEATURES) {
    const wish = featureWish(fw, name);
    if (wish !== undefined && wish !== d.features.includes(name)) return `${wish ? 'lacks' : 'has'} ${name}`;
  }
  if (l?.secure !== undefined && l.secure !== d.features.includes('secure-boot')) return 'secure-boot differs from <loader secure>';
  if (smm === false && d.features.includes('requires-smm')) return 'requires SMM';
  if (s3 === true && !d.features.includes('acpi-s3')) return 'no ACPI S3';
  if (l?.path !== undefined && l.path !== d.executable?.filename) return 'another loader';
  if (l?.format !== undefined && l.format !== (d.executable?.format ?? 'raw')) return 'another loader format';
  const n = fw.nvram;
  if (n?.template !== undefined && n.template !== d.nvramTemplate?.filename) return 'another template';
  const templateFormat = d.nvramTemplate?.format ?? 'raw';
  if (n?.templateFormat !== undefined && n.templateFormat !== templateFormat) return 'another template format';
  if (n?.format !== undefined && d.nvramTemplate && n.format !== templateFormat) return 'another NVRAM format';
  return undefined;
}

/**
 * Completes a definition's firmware from the host's descriptors, as libvirt
 * does at define: <os firmware='efi'> gets the first descriptor (by file
 * name) that fits its <feature> list, loader, machine and SMM setting; a
 * read-only pflash loader gets its NVRAM path (`nvramPath(format)`) and,
 * when a descriptor names its code, its template. Pure: the caller reads the
 * descriptors (src/host/firmware-descriptors.ts).
 */
export function chooseFirmware(
  def: DomainDefinition,
  descriptors: readonly FirmwareDescriptor[],
  nvramPath: (format: FirmwareImageFormat) => string,
): FirmwareChoice | undefined {
  const fw = def.os.firmware;
  if (!fw) return undefined;
  const machine = def.os.machine ?? 'pc';
  const smm = def.platform.smm;
  const s3 = def.platform.suspendToMem;
  let out: FirmwareDefinition = fw;
  let smmOn: boolean | undefined;
  if (fw.auto !== undefined && fw.loader?.path === undefined) {
    const sorted = [...descriptors].sort((a, b) => a.file.localeCompare(b.file));
    const chosen = sorted.find((d) => mismatch(d, fw, machine, smm, s3) === undefined);
    if (!chosen?.executable) {
      throw new FerryError(
        'FIRMWARE_NOT_FOUND',
        `operation failed: Unable to find '${fw.auto}' firmware that is compatible with the current configuration (${descriptors.length} descriptors read: ${sorted.map((d) => `${d.file}: ${mismatch(d, fw, machine, smm, s3) ?? 'no executable'}`).join('; ') || 'none'})`,
        { details: { element: 'os' } },
      );
    }
    const has = (f: string): boolean => chosen.features.includes(f);
    if (fw.auto === 'bios') {
      out = {
        ...fw,
        features: [
          { name: 'enrolled-keys', enabled: false },
          { name: 'secure-boot', enabled: false },
        ],
        loader: { ...fw.loader, type: 'rom', format: chosen.executable.format, path: chosen.executable.filename },
      };
      return { firmware: out };
    }
    out = {
      ...fw,
      features: FIRMWARE_FEATURES.slice()
        .sort()
        .map((name) => ({ name, enabled: has(name) })),
      loader: {
        ...fw.loader,
        path: chosen.executable.filename,
        readonly: true,
        type: 'pflash',
        format: chosen.executable.format,
        ...(has('secure-boot') ? { secure: true } : {}),
      },
    };
    if (chosen.mode !== 'stateless' && chosen.nvramTemplate) {
      out.nvram = fw.nvram?.network
        ? // A store on network storage is never made from a template (libvirt's qemuFirmwareFillDomain leaves it out).
          { ...fw.nvram, format: fw.nvram.format ?? chosen.nvramTemplate.format }
        : {
            ...fw.nvram,
            template: chosen.nvramTemplate.filename,
            templateFormat: chosen.nvramTemplate.format,
            format: fw.nvram?.format ?? chosen.nvramTemplate.format,
          };
    }
    if (has('requires-smm') && smm === undefined) smmOn = true;
  }
  if (hasNvram(out) && out.loader?.readonly !== false && out.loader?.stateless !== true) {
    const n = { ...out.nvram };
    if (n.template === undefined && n.network === undefined && out.loader?.path !== undefined) {
      const byCode = descriptors.find((d) => d.executable?.filename === out.loader?.path && d.nvramTemplate);
      if (byCode?.nvramTemplate) {
        n.template = byCode.nvramTemplate.filename;
        n.templateFormat = byCode.nvramTemplate.format;
      }
    }
    n.format ??= n.templateFormat ?? 'raw';
    if (n.path === undefined && n.network === undefined) n.path = nvramPath(n.format);
    out = { ...out, nvram: n };
  }
  return smmOn === undefined ? { firmware: out } : { firmware: out, smm: smmOn };
}
