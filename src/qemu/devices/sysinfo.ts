import type { DomainDefinition } from '../../vm/definition.js';
import { SMBIOS_SECTIONS, type SmbiosSection } from '../../vm/sysinfo.js';
import { escapeOpt } from './device-props.js';

/**
 * -smbios for <os><smbios mode='sysinfo'/> (one per <sysinfo type='smbios'> section, type 11 for
 * <oemStrings>) and -fw_cfg for <sysinfo type='fwcfg'>, as libvirt 11 writes them.
 */
export function sysinfoArgs(def: DomainDefinition): string[] {
  const args: string[] = [];
  const smbios = def.sysinfo?.smbios;
  if (def.os.smbiosMode === 'sysinfo' && smbios) {
    for (const section of Object.keys(SMBIOS_SECTIONS) as SmbiosSection[]) {
      const entries = smbios[section];
      if (!entries) continue;
      const { type, names } = SMBIOS_SECTIONS[section];
      const fields = names.filter((n) => entries[n] !== undefined).map((n) => `${n}=${escapeOpt(entries[n] as string)}`);
      args.push('-smbios', [`type=${type}`, ...fields].join(','));
    }
    if (smbios.oemStrings) args.push('-smbios', ['type=11', ...smbios.oemStrings.map((v) => `value=${escapeOpt(v)}`)].join(','));
  }
  for (const e of def.sysinfo?.fwcfg ?? []) {
    args.push('-fw_cfg', `name=${escapeOpt(e.name)},${e.file !== undefined ? `file=${escapeOpt(e.file)}` : `string=${escapeOpt(e.value ?? '')}`}`);
  }
  return args;
}
