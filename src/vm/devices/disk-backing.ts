import { child, el, type XmlElement } from '../../shared/xml.js';
import { DISK_FORMATS, type DiskBackingStore, type DiskDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { oneOf } from '../xml-values.js';
import { toBytes } from '../memory-units.js';
import { parseCookies, renderCookies } from './disk-secrets.js';

/**
 * <backingStore>: the image chain under a disk's source, named layer by layer
 * (libvirt's explicit chain). Each layer is a read-only block node of its own
 * and the backing of the layer above; an empty <backingStore/> ends the chain
 * (QEMU opens no backing file, whatever the image's header says).
 */
export function backingStoreRule(sourceRule: ElementRule): ElementRule {
  const rule: { attrs: ElementRule['attrs']; children: Record<string, ElementRule> } = {
    attrs: { type: ['file', 'block', 'network'] },
    children: { format: { attrs: { type: DISK_FORMATS }, children: { metadata_cache: METADATA_CACHE_RULE } }, source: sourceRule },
  };
  rule.children.backingStore = rule;
  return rule;
}

/** One layer (or null for <backingStore/>); `parseSource` is the disk's own <source> parser. */
export function parseBackingStore(
  e: XmlElement,
  dev: string,
  parseSource: (type: DiskBackingStore['type'], source: XmlElement) => DiskBackingStore['source'],
): DiskBackingStore | null {
  if (e.attrs.type === undefined && e.children.length === 0) return null;
  const type = oneOf(e.attrs.type ?? '', ['file', 'block', 'network'] as const, 'backingStore', 'type');
  const format = child(e, 'format')?.attrs.type;
  if (!format) throw xmlInvalid('backingStore', `disk '${dev}': a backing layer needs <format type=...>`);
  const source = child(e, 'source');
  if (!source) throw xmlInvalid('backingStore', `disk '${dev}': a backing layer needs <source>`);
  const layer: DiskBackingStore = { type, format: oneOf(format, DISK_FORMATS, 'format', 'type'), source: parseSource(type, source) };
  const cookies = child(source, 'cookies');
  if (cookies) {
    if (type !== 'network' || (layer.source.protocol !== 'http' && layer.source.protocol !== 'https')) {
      throw xmlInvalid('cookies', `disk '${dev}': <cookies> are for http and https sources only`);
    }
    layer.cookies = parseCookies(cookies, dev);
  }
  const cache = parseMetadataCache(child(e, 'format'), layer.format, dev);
  if (cache !== undefined) layer.metadataCacheBytes = cache;
  const next = child(e, 'backingStore');
  if (next) layer.backingStore = parseBackingStore(next, dev, parseSource);
  if (layer.backingStore && layer.format === 'raw') throw xmlInvalid('backingStore', `disk '${dev}': a raw backing layer has no backing store of its own`);
  return layer;
}

/** `secrets`: show the layers' cookie values (libvirt writes <cookies> only with --security-info). */
export function renderBackingStore(
  b: DiskBackingStore | null,
  renderSource: (type: DiskBackingStore['type'], s: DiskBackingStore['source']) => XmlElement | undefined,
  secrets = true,
): XmlElement {
  if (b === null) return el('backingStore');
  const plain = renderSource(b.type, b.source);
  const source = plain && b.cookies && secrets ? { ...plain, children: [...plain.children, renderCookies(b.cookies)] } : plain;
  return el('backingStore', { type: b.type }, [
    el('format', { type: b.format }, [renderMetadataCache(b.metadataCacheBytes)]),
    source,
    b.backingStore === undefined ? undefined : renderBackingStore(b.backingStore, renderSource, secrets),
  ]);
}

export const METADATA_CACHE_RULE: ElementRule = { children: { max_size: { attrs: { unit: true } } } };

/** <metadata_cache><max_size unit=>N</max_size></metadata_cache> in a <driver> or <format>: qcow2's cache-size, bytes. */
export function parseMetadataCache(parent: XmlElement | undefined, format: string, dev: string): number | undefined {
  const max = child(child(parent ?? el('x'), 'metadata_cache') ?? el('x'), 'max_size');
  if (!max) return undefined;
  if (format !== 'qcow2') throw xmlInvalid('metadata_cache', `disk '${dev}': <metadata_cache> is for qcow2 images only`);
  return toBytes(max.text, max.attrs.unit, 'max_size');
}

export function renderMetadataCache(bytes: number | undefined): XmlElement | undefined {
  return bytes === undefined ? undefined : el('metadata_cache', {}, [el('max_size', { unit: 'bytes' }, String(bytes))]);
}

/** The layers of a disk's explicit chain, top down. */
export function backingLayers(disk: Pick<DiskDefinition, 'backingStore'>): DiskBackingStore[] {
  const out: DiskBackingStore[] = [];
  for (let b = disk.backingStore; b; b = b.backingStore) out.push(b);
  return out;
}
