import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import { FS_ACCESS_MODES, FS_MODELS, FS_MULTIDEVS, type FilesystemDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { oneOf } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';
import { parseVirtioOptions, renderVirtioOptions, VIRTIO_OPTION_ATTRS } from './virtio-options.js';

/**
 * <filesystem type='mount'> over virtio-9p (driver 'path': QEMU's local fsdev),
 * or as a USB MTP device (driver 'mtp': QEMU's usb-mtp, on a USB port; the
 * guest browses it as a media player; <target dir> is its description).
 * Not here, so refused with their path: virtiofs (needs a virtiofsd, which
 * Debian 12 does not ship), 'handle' (QEMU removed it in 6.0), and the
 * other source types (block, file, ram, bind, template, volume).
 */
export const FILESYSTEM_RULE: ElementRule = {
  attrs: { type: ['mount'], accessmode: FS_ACCESS_MODES, model: FS_MODELS, fmode: true, dmode: true, multidevs: FS_MULTIDEVS },
  label: (e) => `<filesystem> '${child(e, 'target')?.attrs.dir ?? '?'}'`,
  children: {
    driver: {
      attrs: { type: ['path', 'mtp'], wrpolicy: ['immediate'], ...VIRTIO_OPTION_ATTRS },
      refusedValues: {
        'type=virtiofs':
          "virtiofs needs a virtiofsd daemon per filesystem, which ferry does not run (Debian 12 ships none); use the 9p driver (<driver type='path'>, mount -t 9p -o trans=virtio TAG in the guest)",
        'type=handle': "QEMU removed the 9p 'handle' driver in 6.0; use <driver type='path'>",
      },
    },
    source: { attrs: { dir: true } },
    target: { attrs: { dir: true } },
    readonly: {},
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

/** fmode=/dmode=: an octal mode up to 0777, as libvirt reads it. */
function mode(value: string | undefined, attr: string, label: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-7]{1,4}$/.test(value) || Number.parseInt(value, 8) > 0o777)
    throw xmlInvalid('filesystem', `${label}: invalid ${attr} '${value}' (expected an octal mode up to 0777)`);
  return Number.parseInt(value, 8);
}

export function parseFilesystem(f: XmlElement, index: number): FilesystemDefinition {
  const tag = child(f, 'target')?.attrs.dir;
  const label = `<filesystem> ${tag === undefined ? `#${index}` : `'${tag}'`}`;
  // Other types and drivers: unsupportedParts() names them, with why.
  if ((f.attrs.type ?? 'mount') !== 'mount') throw xmlUnsupported(`filesystem type='${f.attrs.type ?? ''}'`);
  const driver = child(f, 'driver');
  const driverType = driver?.attrs.type ?? 'path';
  if (driverType !== 'path' && driverType !== 'mtp') throw xmlUnsupported(`filesystem driver type='${driverType}'`);
  const source = child(f, 'source')?.attrs.dir;
  if (!source) throw xmlInvalid('filesystem', `${label}: missing <source dir=...>`);
  if (!source.startsWith('/')) throw xmlInvalid('source', `${label}: source dir '${source}' is not an absolute path`);
  if (!tag) throw xmlInvalid('filesystem', `${label}: missing <target dir=...> (the mount tag)`);
  if (driverType === 'mtp') return parseMtp(f, driver, label, source, tag);
  const result: FilesystemDefinition = {
    driver: 'path',
    accessmode: oneOf(f.attrs.accessmode ?? 'passthrough', FS_ACCESS_MODES, 'filesystem', 'accessmode'),
    source,
    target: tag,
    ...parsePlacement(f, label),
  };
  if (f.attrs.model !== undefined) result.model = oneOf(f.attrs.model, FS_MODELS, 'filesystem', 'model');
  if (child(f, 'readonly')) result.readonly = true;
  const fmode = mode(f.attrs.fmode, 'fmode', label);
  if (fmode !== undefined) result.fmode = fmode;
  const dmode = mode(f.attrs.dmode, 'dmode', label);
  if (dmode !== undefined) result.dmode = dmode;
  if (f.attrs.multidevs !== undefined) result.multidevs = oneOf(f.attrs.multidevs, FS_MULTIDEVS, 'filesystem', 'multidevs');
  if (driver?.attrs.wrpolicy !== undefined) result.wrpolicy = oneOf(driver.attrs.wrpolicy, ['immediate'] as const, 'driver', 'wrpolicy');
  const virtio = parseVirtioOptions(driver);
  if (virtio) result.virtio = virtio;
  return result;
}

/**
 * usb-mtp has a root directory, a description and a read-only switch, and
 * sits on a USB port: what belongs to 9p (access modes other than
 * passthrough, fmode/dmode, multidevs, wrpolicy, a virtio model or virtio
 * options) is refused, naming it.
 */
function parseMtp(f: XmlElement, driver: XmlElement | undefined, label: string, source: string, target: string): FilesystemDefinition {
  const only9p = [
    f.attrs.accessmode !== undefined && f.attrs.accessmode !== 'passthrough' ? `accessmode='${f.attrs.accessmode}'` : undefined,
    ...(['model', 'fmode', 'dmode', 'multidevs'] as const).map((a) => (f.attrs[a] === undefined ? undefined : `${a}=`)),
    ...Object.keys(driver?.attrs ?? {})
      .filter((a) => a !== 'type')
      .map((a) => `<driver ${a}=>`),
  ].filter((x): x is string => x !== undefined);
  if (only9p.length > 0)
    throw xmlUnsupported(
      'filesystem',
      `${label}: ${only9p.join(', ')} ${only9p.length > 1 ? 'are' : 'is'} for 9p filesystems; a <driver type='mtp'> filesystem (usb-mtp) takes a source, a target (its description) and <readonly/>`,
    );
  const result: FilesystemDefinition = { driver: 'mtp', accessmode: 'passthrough', source, target, ...parsePlacement(f, label) };
  if (result.address && result.address.type !== 'usb')
    throw xmlUnsupported('filesystem', `${label}: a <driver type='mtp'> filesystem is a USB device: its <address> must be type='usb'`);
  if (child(f, 'readonly')) result.readonly = true;
  return result;
}

/** Refuses two filesystems with one mount tag (the guest could not tell them apart), as libvirt does. */
export function checkFilesystems(list: readonly FilesystemDefinition[]): void {
  const seen = new Set<string>();
  for (const f of list) {
    if (seen.has(f.target)) throw xmlInvalid('filesystem', `filesystem target '${f.target}' specified twice`);
    seen.add(f.target);
  }
}

const octal = (n: number | undefined): string | undefined => (n === undefined ? undefined : `0${n.toString(8).padStart(3, '0')}`);

export function renderFilesystem(f: FilesystemDefinition, live: boolean): XmlElement {
  if (f.driver === 'mtp') {
    return el('filesystem', { type: 'mount', accessmode: f.accessmode }, [
      el('driver', { type: 'mtp' }),
      el('source', { dir: f.source }),
      el('target', { dir: f.target }),
      f.readonly ? el('readonly') : undefined,
      ...renderPlacement(f, live),
    ]);
  }
  return el('filesystem', { type: 'mount', accessmode: f.accessmode, model: f.model, fmode: octal(f.fmode), dmode: octal(f.dmode), multidevs: f.multidevs }, [
    el('driver', { type: f.driver, wrpolicy: f.wrpolicy, ...renderVirtioOptions(f.virtio) }),
    el('source', { dir: f.source }),
    el('target', { dir: f.target }),
    f.readonly ? el('readonly') : undefined,
    ...renderPlacement(f, live),
  ]);
}

/** QEMU's security_model for an access mode: squash is 'none' (like passthrough, failures to set ownership ignored). */
export function securityModel(f: FilesystemDefinition): string {
  return f.accessmode === 'squash' ? 'none' : f.accessmode;
}
