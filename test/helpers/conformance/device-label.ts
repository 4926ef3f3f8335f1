import { child, type XmlElement } from '../../../src/shared/xml.js';

/** The children of <devices> that are devices (all but <emulator>). */
export function deviceElements(domain: XmlElement): XmlElement[] {
  return (child(domain, 'devices')?.children ?? []).filter((d) => d.name !== 'emulator');
}

/**
 * A short, stable name for the n-th device of its kind, for reports:
 * disk[hda], interface[52:54:00:e5:48:58], controller[usb 0], input[tablet usb], video[1].
 */
export function deviceLabel(device: XmlElement, nth: number): string {
  const a = device.attrs;
  let key: string | undefined;
  switch (device.name) {
    case 'disk':
      key = child(device, 'target')?.attrs.dev;
      break;
    case 'interface':
      key = child(device, 'mac')?.attrs.address;
      break;
    case 'controller':
      key = `${a.type ?? ''} ${a.index ?? nth}${a.model ? ` ${a.model}` : ''}`;
      break;
    case 'input':
      key = `${a.type ?? ''} ${a.bus ?? ''}`.trim();
      break;
    case 'serial':
    case 'console':
    case 'parallel':
      key = `${child(device, 'target')?.attrs.port ?? nth}`;
      break;
    case 'channel':
      key = child(device, 'target')?.attrs.name ?? String(nth);
      break;
    case 'hostdev':
      key = `${a.type ?? ''} ${nth}`;
      break;
  }
  return `${device.name}[${key ?? nth}]`;
}

/** Each device with its label, numbered per kind in document order; a label that repeats gets '#n'. */
export function labelledDevices(domain: XmlElement): Array<{ label: string; device: XmlElement }> {
  const seen = new Map<string, number>();
  const labels = new Set<string>();
  return deviceElements(domain).map((device) => {
    const nth = seen.get(device.name) ?? 0;
    seen.set(device.name, nth + 1);
    let label = deviceLabel(device, nth);
    if (labels.has(label)) label = `${label}#${nth}`;
    labels.add(label);
    return { label, device };
  });
}

/** A device element in one line, as it reads in the XML: `<disk type='block' device='disk'>` with its children's names. */
export function shape(e: XmlElement, depth = 2): string {
  const attrs = Object.entries(e.attrs)
    .map(([k, v]) => ` ${k}='${v}'`)
    .join('');
  if (e.children.length === 0 || depth === 0) return e.text ? `<${e.name}${attrs}>${e.text}</${e.name}>` : `<${e.name}${attrs}/>`;
  return `<${e.name}${attrs}>${e.children.map((c) => shape(c, depth - 1)).join('')}</${e.name}>`;
}
