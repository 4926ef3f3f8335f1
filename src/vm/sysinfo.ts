import { child, el, type XmlElement } from '../shared/xml.js';
import type { ElementRule } from './schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from './xml-errors.js';
import { normalizeUuid } from './identifiers.js';

/**
 * <sysinfo> and <os><smbios mode=>: the SMBIOS strings the guest's firmware
 * tables carry (QEMU's -smbios type=0/1/2/3/11) and fw_cfg entries (-fw_cfg),
 * as libvirt 11 builds them (qemuBuildSmbiosCommandLine, qemuBuildSysinfoCommandLine).
 *
 * - <sysinfo type='smbios'> is used only with <os><smbios mode='sysinfo'/>; mode='emulate'
 *   is QEMU's own tables (no -smbios). mode='host' (copy the host's DMI) is refused:
 *   the guest would see a different machine after each migration.
 * - <sysinfo type='fwcfg'>: named blobs in fw_cfg, a string or a host file, read at start.
 */
export type SmbiosSection = 'bios' | 'system' | 'baseBoard' | 'chassis';

/** Each section's entries in libvirt's (and QEMU's -smbios) order, with the SMBIOS type. */
export const SMBIOS_SECTIONS: Readonly<Record<SmbiosSection, { type: number; names: readonly string[] }>> = {
  bios: { type: 0, names: ['vendor', 'version', 'date', 'release'] },
  system: { type: 1, names: ['manufacturer', 'product', 'version', 'serial', 'uuid', 'sku', 'family'] },
  baseBoard: { type: 2, names: ['manufacturer', 'product', 'version', 'serial', 'asset', 'location'] },
  chassis: { type: 3, names: ['manufacturer', 'version', 'serial', 'asset', 'sku'] },
};

export interface SmbiosSysinfo {
  bios?: Record<string, string>;
  system?: Record<string, string>;
  baseBoard?: Record<string, string>;
  chassis?: Record<string, string>;
  oemStrings?: string[];
}

export interface FwcfgEntry {
  name: string;
  /** The entry's text (-fw_cfg string=), or */
  value?: string;
  /** a host file QEMU reads at start (-fw_cfg file=). */
  file?: string;
}

export interface SysinfoDefinition {
  smbios?: SmbiosSysinfo;
  fwcfg?: FwcfgEntry[];
}

const sectionRule = (s: SmbiosSection): ElementRule => ({ children: { entry: { attrs: { name: SMBIOS_SECTIONS[s].names } } } });

export const SYSINFO_RULE: ElementRule = {
  attrs: { type: ['smbios', 'fwcfg'] },
  children: {
    bios: sectionRule('bios'),
    system: sectionRule('system'),
    baseBoard: sectionRule('baseBoard'),
    chassis: sectionRule('chassis'),
    oemStrings: { children: { entry: {} } },
    // type='fwcfg' entries (the smbios sections take theirs inside a section).
    entry: { attrs: { name: true, file: true } },
  },
};

export const OS_SMBIOS_RULE: ElementRule = {
  attrs: { mode: ['sysinfo', 'emulate'] },
  refusedValues: {
    'mode=host': "the host's own DMI strings would change under the guest at each migration; copy them into <sysinfo type='smbios'> and use mode='sysinfo'",
  },
};

export function parseSysinfo(root: XmlElement, domainUuid: string): SysinfoDefinition | undefined {
  const els = root.children.filter((c) => c.name === 'sysinfo');
  if (els.length === 0) return undefined;
  const result: SysinfoDefinition = {};
  for (const s of els) {
    if (s.attrs.type === 'smbios') {
      if (result.smbios) throw xmlInvalid('sysinfo', "more than one <sysinfo type='smbios'>");
      result.smbios = parseSmbios(s, domainUuid);
    } else if (s.attrs.type === 'fwcfg') {
      if (result.fwcfg) throw xmlInvalid('sysinfo', "more than one <sysinfo type='fwcfg'>");
      result.fwcfg = parseFwcfg(s);
    } else if (s.attrs.type === undefined) throw xmlInvalid('sysinfo', 'missing type');
  }
  return result;
}

function parseSmbios(s: XmlElement, domainUuid: string): SmbiosSysinfo {
  const result: SmbiosSysinfo = {};
  for (const section of Object.keys(SMBIOS_SECTIONS) as SmbiosSection[]) {
    const els = s.children.filter((c) => c.name === section);
    // QEMU has one type 2 table (libvirt: "qemu does not support more than one entry to Type 2 in SMBIOS table").
    if (els.length > 1)
      throw xmlUnsupported(section, `more than one <${section}> in <sysinfo>: QEMU builds one SMBIOS type ${SMBIOS_SECTIONS[section].type} table`);
    const sec = els[0];
    if (!sec) continue;
    const entries: Record<string, string> = {};
    for (const e of sec.children) {
      if (e.name !== 'entry' || e.attrs.name === undefined) continue;
      if (!SMBIOS_SECTIONS[section].names.includes(e.attrs.name)) continue; // the rule walk names it
      if (!e.text) continue; // libvirt drops an empty entry
      if (e.attrs.name in entries) throw xmlInvalid('entry', `<${section}> has more than one entry '${e.attrs.name}'`);
      entries[e.attrs.name] = e.text;
    }
    if (section === 'bios') checkBios(entries);
    if (section === 'system' && entries.uuid !== undefined) {
      const uuid = normalizeUuid(entries.uuid);
      if (uuid === undefined) throw xmlInvalid('entry', `malformed uuid '${entries.uuid}'`);
      if (uuid !== domainUuid) throw xmlInvalid('sysinfo', 'UUID mismatch between <uuid> and <sysinfo>');
      entries.uuid = uuid;
    }
    if (Object.keys(entries).length > 0) result[section] = entries;
  }
  const oem = child(s, 'oemStrings');
  if (oem) result.oemStrings = oem.children.filter((c) => c.name === 'entry').map((c) => c.text);
  return result;
}

/** libvirt's checks: date mm/dd/yy or mm/dd/yyyy (SMBIOS 2.3+), release major.minor. */
function checkBios(entries: Record<string, string>): void {
  if (entries.date !== undefined && !/^\d{2}\/\d{2}\/(\d{2}|\d{4})$/.test(entries.date)) {
    throw xmlInvalid('entry', `invalid BIOS date '${entries.date}' (mm/dd/yy or mm/dd/yyyy)`);
  }
  if (entries.release !== undefined && !/^\d{1,3}\.\d{1,3}$/.test(entries.release)) {
    throw xmlInvalid('entry', `invalid BIOS release '${entries.release}' (major.minor)`);
  }
}

function parseFwcfg(s: XmlElement): FwcfgEntry[] {
  const result: FwcfgEntry[] = [];
  for (const e of s.children) {
    if (e.name !== 'entry') continue;
    const name = e.attrs.name;
    if (!name) throw xmlInvalid('entry', 'a fw_cfg entry needs name=');
    // libvirt: names outside opt/ are QEMU's own (etc/, bootorder...).
    if (!name.startsWith('opt/')) throw xmlInvalid('entry', `fw_cfg entry name '${name}' must start with 'opt/'`);
    if (result.some((r) => r.name === name)) throw xmlInvalid('entry', `fw_cfg entry '${name}' is given more than once`);
    if (e.attrs.file !== undefined && e.text) throw xmlInvalid('entry', `fw_cfg entry '${name}' has both a value and file=`);
    if (e.attrs.file !== undefined) result.push({ name, file: e.attrs.file });
    else if (e.text) result.push({ name, value: e.text });
    else throw xmlInvalid('entry', `fw_cfg entry '${name}' has neither a value nor file=`);
  }
  return result;
}

/** The system uuid <sysinfo type='smbios'> gives, as written. */
export function sysinfoUuid(root: XmlElement): string | undefined {
  const s = root.children.find((c) => c.name === 'sysinfo' && c.attrs.type === 'smbios');
  const system = s ? child(s, 'system') : undefined;
  return system?.children.find((e) => e.name === 'entry' && e.attrs.name === 'uuid')?.text;
}

export function parseOsSmbios(os: XmlElement): 'sysinfo' | 'emulate' | undefined {
  const mode = child(os, 'smbios')?.attrs.mode;
  if (mode === 'sysinfo' || mode === 'emulate') return mode;
  if (child(os, 'smbios') && mode === undefined) throw xmlInvalid('smbios', 'missing mode');
  return undefined; // any other value: the rule walk names it
}

export function renderSysinfo(s: SysinfoDefinition | undefined): XmlElement[] {
  if (!s) return [];
  const out: XmlElement[] = [];
  if (s.smbios) {
    const sm = s.smbios;
    const sections = (Object.keys(SMBIOS_SECTIONS) as SmbiosSection[]).flatMap((k) => {
      const entries = sm[k];
      if (!entries) return [];
      const names = SMBIOS_SECTIONS[k].names.filter((n) => entries[n] !== undefined);
      return [
        el(
          k,
          {},
          names.map((n) => el('entry', { name: n }, entries[n])),
        ),
      ];
    });
    const oem = sm.oemStrings
      ? [
          el(
            'oemStrings',
            {},
            sm.oemStrings.map((v) => el('entry', {}, v)),
          ),
        ]
      : [];
    out.push(el('sysinfo', { type: 'smbios' }, [...sections, ...oem]));
  }
  if (s.fwcfg)
    out.push(
      el(
        'sysinfo',
        { type: 'fwcfg' },
        s.fwcfg.map((e) => el('entry', { name: e.name, file: e.file }, e.value)),
      ),
    );
  return out;
}
