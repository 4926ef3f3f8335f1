import { randomUUID } from 'node:crypto';
import { FerryError } from '../errors/ferry-error.js';
import { child, el, renderXml } from '../shared/xml.js';
import { normalizeUuid } from '../vm/identifiers.js';
import { parseXmlDocument } from '../vm/xml-errors.js';
import type { PoolDefinition } from './pool-definition.js';
import { POOL_TYPES, type PoolType } from '../shared/volume.js';

function invalid(element: string, problem: string): FerryError {
  return new FerryError('XML_INVALID', `XML error: ${problem} in <${element}>`, { details: { element } });
}

/** Parses libvirt storage pool XML. */
export function parsePoolXml(source: string): PoolDefinition {
  const root = parseXmlDocument(source);
  if (root.name !== 'pool') throw invalid(root.name, `expected root element <pool>, found <${root.name}>`);
  const type = root.attrs.type;
  if (!type) throw invalid('pool', 'missing pool type attribute');
  if (!(POOL_TYPES as readonly string[]).includes(type)) {
    throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: storage pool type '${type}' (ferry has ${POOL_TYPES.join(', ')})`);
  }
  const name = child(root, 'name')?.text;
  if (!name) throw invalid('pool', 'missing <name>');
  if (name.includes('/')) throw invalid('name', `pool name '${name}' cannot contain '/'`);
  const uuidText = child(root, 'uuid')?.text;
  const uuid = uuidText ? normalizeUuid(uuidText) : randomUUID();
  if (!uuid) throw invalid('uuid', `malformed uuid '${uuidText}'`);
  const src = child(root, 'source');
  const def: PoolDefinition = { type: type as PoolType, name, uuid, source: {}, target: { path: '' } };
  if (src) {
    const host = child(src, 'host');
    if (host?.attrs.name) def.source.host = host.attrs.name;
    if (host?.attrs.port) def.source.port = Number(host.attrs.port);
    const dir = child(src, 'dir')?.attrs.path;
    if (dir) def.source.dir = dir;
    const device = child(src, 'device')?.attrs.path;
    if (device) def.source.device = device;
    const sname = child(src, 'name')?.text;
    if (sname) def.source.name = sname;
    const format = child(src, 'format')?.attrs.type;
    if (format) def.source.format = format;
  }
  const target = child(root, 'target');
  const path = child(target ?? { name: '', attrs: {}, children: [], text: '' }, 'path')?.text;
  if (path) def.target.path = path.replace(/\/+$/, '') || '/';
  validatePool(def);
  return def;
}

/** The checks libvirt makes on a pool's source and target for its type. */
export function validatePool(def: PoolDefinition): void {
  const needs = (ok: unknown, what: string): void => {
    if (!ok) throw invalid('pool', `storage pool type '${def.type}' needs ${what}`);
  };
  if (def.type !== 'iscsi' && def.type !== 'gluster') needs(def.target.path.startsWith('/'), 'an absolute <target><path>');
  switch (def.type) {
    case 'netfs':
      needs(def.source.host, '<source><host name=...>');
      needs(def.source.dir, '<source><dir path=...>');
      break;
    case 'fs':
      needs(def.source.device, '<source><device path=...>');
      break;
    case 'logical':
      needs(def.source.name ?? def.target.path.split('/').pop(), '<source><name> (the volume group)');
      break;
    case 'iscsi':
      needs(def.source.host, '<source><host name=...>');
      needs(def.source.device, '<source><device path=...> (the target IQN)');
      break;
    case 'gluster':
      needs(def.source.host, '<source><host name=...>');
      needs(def.source.name, '<source><name> (the gluster volume)');
      break;
    default:
      break;
  }
}

/** Renders a pool definition as libvirt pool XML. */
export function renderPoolXml(def: PoolDefinition): string {
  const s = def.source;
  return renderXml(
    el('pool', { type: def.type }, [
      el('name', {}, def.name),
      el('uuid', {}, def.uuid),
      el('source', {}, [
        s.host ? el('host', { name: s.host, port: s.port }) : undefined,
        s.dir ? el('dir', { path: s.dir }) : undefined,
        s.device ? el('device', { path: s.device }) : undefined,
        s.name ? el('name', {}, s.name) : undefined,
        s.format ? el('format', { type: s.format }) : undefined,
      ]),
      def.target.path ? el('target', {}, [el('path', {}, def.target.path)]) : undefined,
    ]),
  );
}
