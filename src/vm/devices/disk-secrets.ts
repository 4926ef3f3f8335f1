import { child, childrenNamed, el, type XmlElement } from '../../shared/xml.js';
import type { DiskAuth, DiskDefinition, DiskEncryption, SecretUse } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { normalizeUuid } from '../identifiers.js';
import { xmlInvalid } from '../xml-errors.js';
import { oneOf } from '../xml-values.js';

const SECRET_RULE = (types: readonly string[]): ElementRule => ({ attrs: { type: types, uuid: true, usage: true } });

/** <auth username=...><secret type='ceph|iscsi' uuid=|usage=/></auth> */
export const AUTH_RULE: ElementRule = { attrs: { username: true }, children: { secret: SECRET_RULE(['ceph', 'iscsi']) } };
/** <encryption format='luks' engine='qemu'><secret type='passphrase' .../></encryption>: one passphrase, QEMU's LUKS. */
export const ENCRYPTION_RULE: ElementRule = { attrs: { format: ['luks'], engine: ['qemu'] }, children: { secret: SECRET_RULE(['passphrase', 'volume']) } };
/** <cookies><cookie name=...>value</cookie></cookies> of an http(s) source. */
export const COOKIES_RULE: ElementRule = { children: { cookie: { attrs: { name: true } } } };

function parseSecretUse(e: XmlElement | undefined, where: string, dev: string, types: readonly SecretUse['type'][]): SecretUse {
  if (!e) throw xmlInvalid(where, `disk '${dev}': <${where}> needs a <secret>`);
  const type = oneOf(e.attrs.type ?? types[0] ?? '', types, 'secret', 'type');
  const out: SecretUse = { type };
  if (e.attrs.uuid !== undefined) {
    const uuid = normalizeUuid(e.attrs.uuid);
    if (!uuid) throw xmlInvalid('secret', `disk '${dev}': malformed secret uuid '${e.attrs.uuid}'`);
    out.uuid = uuid;
  }
  if (e.attrs.usage !== undefined) out.usage = e.attrs.usage;
  if ((out.uuid === undefined) === (out.usage === undefined)) throw xmlInvalid('secret', `disk '${dev}': a <secret> names either uuid= or usage=`);
  return out;
}

export function parseAuth(e: XmlElement, dev: string, inDisk: boolean): DiskAuth {
  const username = e.attrs.username;
  if (!username) throw xmlInvalid('auth', `disk '${dev}': <auth> needs username=`);
  const auth: DiskAuth = { username, secret: parseSecretUse(child(e, 'secret'), 'auth', dev, ['ceph', 'iscsi']) };
  if (inDisk) auth.inDisk = true;
  return auth;
}

export function parseEncryption(e: XmlElement, dev: string, inDisk: boolean): DiskEncryption {
  oneOf(e.attrs.format ?? '', ['luks'] as const, 'encryption', 'format');
  const secrets = childrenNamed(e, 'secret');
  if (secrets.length > 1) throw xmlInvalid('encryption', `disk '${dev}': QEMU's LUKS takes one passphrase <secret>`);
  const enc: DiskEncryption = { format: 'luks', secret: parseSecretUse(secrets[0], 'encryption', dev, ['passphrase', 'volume']) };
  if (e.attrs.engine !== undefined) enc.engine = oneOf(e.attrs.engine, ['qemu'] as const, 'encryption', 'engine');
  if (inDisk) enc.inDisk = true;
  return enc;
}

export function parseCookies(e: XmlElement, dev: string): NonNullable<DiskDefinition['cookies']> {
  return childrenNamed(e, 'cookie').map((c) => {
    const name = c.attrs.name ?? '';
    // RFC 6265's cookie-name is a token; its value has no ';', ',', whitespace or backslash.
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw xmlInvalid('cookie', `disk '${dev}': invalid cookie name '${name}'`);
    if (/[\s;,\\]/.test(c.text)) throw xmlInvalid('cookie', `disk '${dev}': invalid value of cookie '${name}'`);
    return { name, value: c.text };
  });
}

/** Reads <auth>, <encryption> and <cookies> of a disk (in <source>, or <auth>/<encryption> in <disk>, libvirt's old place). */
export function parseDiskSecrets(disk: XmlElement, d: DiskDefinition): void {
  const dev = d.target.dev;
  const source = child(disk, 'source');
  const auth = source && child(source, 'auth');
  const oldAuth = child(disk, 'auth');
  if (auth && oldAuth) throw xmlInvalid('auth', `disk '${dev}': <auth> in both <disk> and <source>`);
  if (auth ?? oldAuth) d.auth = parseAuth((auth ?? oldAuth) as XmlElement, dev, !auth);
  const enc = source && child(source, 'encryption');
  const oldEnc = child(disk, 'encryption');
  if (enc && oldEnc) throw xmlInvalid('encryption', `disk '${dev}': <encryption> in both <disk> and <source>`);
  if (enc ?? oldEnc) d.encryption = parseEncryption((enc ?? oldEnc) as XmlElement, dev, !enc);
  const cookies = source && child(source, 'cookies');
  if (cookies) d.cookies = parseCookies(cookies, dev);

  if (d.auth) {
    const p = d.source.protocol;
    if (d.type !== 'network' || (p !== 'rbd' && p !== 'iscsi' && p !== 'http' && p !== 'https' && p !== 'ftp' && p !== 'ftps')) {
      throw xmlInvalid(
        'auth',
        `disk '${dev}': <auth> is for rbd, iscsi, http(s) and ftp(s) sources${d.type === 'network' ? `, not protocol '${p ?? ''}'` : ''}`,
      );
    }
    const want = p === 'rbd' ? 'ceph' : p === 'iscsi' ? 'iscsi' : undefined;
    if (want !== undefined && d.auth.secret.type !== want) throw xmlInvalid('secret', `disk '${dev}': a ${p} source's <auth> secret has type='${want}'`);
  }
  if (d.cookies && (d.type !== 'network' || (d.source.protocol !== 'http' && d.source.protocol !== 'https'))) {
    throw xmlInvalid('cookies', `disk '${dev}': <cookies> are for http and https sources only`);
  }
  if (d.encryption && d.format !== 'raw' && d.format !== 'qcow2') {
    throw xmlInvalid('encryption', `disk '${dev}': LUKS encryption is for raw (a LUKS image) and qcow2 formats, not '${d.format}'`);
  }
}

function renderSecretUse(s: SecretUse): XmlElement {
  return el('secret', { type: s.type, uuid: s.uuid, usage: s.usage });
}

export function renderAuth(a: DiskAuth): XmlElement {
  return el('auth', { username: a.username }, [renderSecretUse(a.secret)]);
}

export function renderEncryption(e: DiskEncryption): XmlElement {
  return el('encryption', { format: e.format, engine: e.engine }, [renderSecretUse(e.secret)]);
}

export function renderCookies(cookies: NonNullable<DiskDefinition['cookies']>): XmlElement {
  return el(
    'cookies',
    {},
    cookies.map((c) => el('cookie', { name: c.name }, c.value)),
  );
}

/**
 * The children <source> gets: what was written there (auth, encryption, cookies).
 * Cookie values are credentials: without `secrets` (dumpxml without --security-info)
 * they are left out, as libvirt does (CVE-2020-14301: cookies leaked to read-only clients).
 */
export function renderSourceSecrets(d: DiskDefinition, secrets = true): XmlElement[] {
  const out: XmlElement[] = [];
  if (d.auth && !d.auth.inDisk) out.push(renderAuth(d.auth));
  if (d.encryption && !d.encryption.inDisk) out.push(renderEncryption(d.encryption));
  if (d.cookies && secrets) out.push(renderCookies(d.cookies));
  return out;
}
