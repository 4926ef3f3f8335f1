import { randomUUID } from 'node:crypto';
import { FerryError } from '../errors/ferry-error.js';
import { child, el, renderXml } from '../shared/xml.js';
import { normalizeUuid } from '../vm/identifiers.js';
import { parseXmlDocument } from '../vm/xml-errors.js';

export const SECRET_USAGE_TYPES = ['volume', 'ceph', 'iscsi', 'tls', 'vtpm'] as const;
export type SecretUsageType = (typeof SECRET_USAGE_TYPES)[number];

/** libvirt's <secret>: what it is for (its usage), and whether its value may be read back or kept on disk. */
export interface SecretDefinition {
  uuid: string;
  ephemeral: boolean;
  private: boolean;
  description?: string;
  usage: { type: SecretUsageType; id: string };
}

/** The element naming a usage's id: <volume> for 'volume', <target> for 'iscsi', <name> for the others (libvirt's secret XML). */
const usageElement = (type: SecretUsageType): string => (type === 'volume' ? 'volume' : type === 'iscsi' ? 'target' : 'name');

const invalid = (message: string): FerryError => new FerryError('SECRET_INVALID', `XML error: ${message}`);

export function parseSecretXml(xml: string): SecretDefinition {
  const root = parseXmlDocument(xml);
  if (root.name !== 'secret') throw invalid(`unexpected root element <${root.name}>, expecting <secret>`);
  const yesNo = (name: string): boolean => {
    const v = root.attrs[name] ?? 'no';
    if (v !== 'yes' && v !== 'no') throw invalid(`invalid value of '${name}': '${v}' (yes or no)`);
    return v === 'yes';
  };
  const uuidText = child(root, 'uuid')?.text;
  const uuid = uuidText === undefined ? randomUUID() : normalizeUuid(uuidText);
  if (!uuid) throw invalid(`malformed uuid element: '${uuidText ?? ''}'`);
  const usage = child(root, 'usage');
  if (!usage) throw invalid("a secret needs <usage type='volume|ceph|iscsi|tls|vtpm'> (ferry looks secrets up by it)");
  const type = usage.attrs.type ?? '';
  if (!(SECRET_USAGE_TYPES as readonly string[]).includes(type)) throw invalid(`unknown secret usage type '${type}' (volume, ceph, iscsi, tls, vtpm)`);
  const t = type as SecretUsageType;
  const id = child(usage, usageElement(t))?.text ?? '';
  if (!id) throw invalid(`usage type '${t}' needs <${usageElement(t)}>`);
  const def: SecretDefinition = { uuid, ephemeral: yesNo('ephemeral'), private: yesNo('private'), usage: { type: t, id } };
  const description = child(root, 'description')?.text;
  if (description) def.description = description;
  return def;
}

/** secret-dumpxml: the definition, never the value. */
export function renderSecretXml(d: SecretDefinition): string {
  return renderXml(
    el('secret', { ephemeral: d.ephemeral ? 'yes' : 'no', private: d.private ? 'yes' : 'no' }, [
      d.description === undefined ? undefined : el('description', {}, d.description),
      el('uuid', {}, d.uuid),
      el('usage', { type: d.usage.type }, [el(usageElement(d.usage.type), {}, d.usage.id)]),
    ]),
  );
}
