import { FerryError } from '../errors/ferry-error.js';
import { normalizeUuid } from '../vm/identifiers.js';
import { SecretStore } from './secret-store.js';
import { parseSecretXml, renderSecretXml, type SecretDefinition, type SecretUsageType } from './secret-xml.js';
import type { SecretSummary } from '../shared/api-types.js';

/** How a domain names a secret: <secret uuid=...> or <secret type=... usage=...>. */
export interface SecretRef {
  /** The usage type the domain expects (ceph, iscsi, volume/passphrase, ...). */
  type?: string;
  uuid?: string;
  usage?: string;
}

/** The usage type a domain's <secret type=...> asks for: 'passphrase' (disk encryption) is a 'volume' secret. */
const usageTypeOf = (type: string | undefined): SecretUsageType | undefined =>
  type === 'passphrase' ? 'volume' : type === 'ceph' || type === 'iscsi' || type === 'volume' || type === 'tls' || type === 'vtpm' ? type : undefined;

/** secret-define, secret-set-value, ...: libvirt's secret driver, with the values in ferryd's state database. */
export class SecretService {
  constructor(private readonly store: SecretStore) {}

  define(xml: string): SecretSummary {
    const def = parseSecretXml(xml);
    this.store.save(def, renderSecretXml(def));
    return this.summary(def.uuid);
  }

  list(): SecretSummary[] {
    return this.store.list().map((r) => toSummary(r.def, r.hasValue));
  }

  summary(uuid: string): SecretSummary {
    const rec = this.store.get(this.lookup(uuid).uuid);
    if (!rec) throw notFound(uuid);
    return toSummary(rec.def, rec.hasValue);
  }

  dumpXml(uuid: string): string {
    return renderSecretXml(this.lookup(uuid));
  }

  setValue(uuid: string, base64: string): void {
    const def = this.lookup(uuid);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0)
      throw new FerryError('SECRET_INVALID', 'invalid argument: the secret value is not base64');
    const value = Buffer.from(base64, 'base64');
    if (value.length === 0) throw new FerryError('SECRET_INVALID', 'invalid argument: the secret value is empty');
    this.store.setValue(def.uuid, value);
  }

  /** secret-get-value: refused for a private secret, as libvirt refuses it. */
  getValue(uuid: string): string {
    const def = this.lookup(uuid);
    if (def.private) throw new FerryError('SECRET_PRIVATE', 'operation forbidden: secret is private', { details: { uuid: def.uuid } });
    const value = this.store.value(def.uuid);
    if (!value) throw noValue(def);
    return value.toString('base64');
  }

  undefine(uuid: string): void {
    this.store.delete(this.lookup(uuid).uuid);
  }

  /** The secret a domain names, or why it cannot have it (at start; ferry, as libvirt, does not check at define). */
  resolve(ref: SecretRef): { def: SecretDefinition; value: Buffer } {
    let def: SecretDefinition | undefined;
    if (ref.uuid !== undefined) {
      def = this.store.get(normalizeUuid(ref.uuid) ?? ref.uuid)?.def;
      if (!def) throw notFound(ref.uuid);
    } else {
      const type = usageTypeOf(ref.type);
      def = type === undefined ? undefined : this.store.findByUsage(type, ref.usage ?? '')?.def;
      if (!def)
        throw new FerryError('SECRET_NOT_FOUND', `Secret not found: no secret with matching usage '${ref.usage ?? ''}'`, {
          details: { usage: ref.usage, type: ref.type },
        });
    }
    const value = this.store.value(def.uuid);
    if (!value) throw noValue(def);
    return { def, value };
  }

  /** Whether this host has the secret a domain names, with a value (migration pre-flight). */
  has(ref: SecretRef): boolean {
    try {
      this.resolve(ref);
      return true;
    } catch {
      return false;
    }
  }

  private lookup(uuid: string): SecretDefinition {
    const rec = this.store.get(normalizeUuid(uuid) ?? uuid);
    if (!rec) throw notFound(uuid);
    return rec.def;
  }
}

function notFound(uuid: string): FerryError {
  return new FerryError('SECRET_NOT_FOUND', `Secret not found: no secret with matching uuid '${uuid}'`, { details: { uuid } });
}

function noValue(def: SecretDefinition): FerryError {
  return new FerryError('SECRET_NO_VALUE', `Secret not found: secret '${def.uuid}' does not have a value`, {
    details: { uuid: def.uuid, usage: def.usage.id },
  });
}

function toSummary(def: SecretDefinition, hasValue: boolean): SecretSummary {
  return { uuid: def.uuid, usage: `${def.usage.type} ${def.usage.id}`, ephemeral: def.ephemeral, private: def.private, hasValue };
}
