import { child, childrenNamed, el, type XmlElement } from '../../shared/xml.js';
import type { DefineProblem, ElementRule } from '../schema/element-rule.js';
import {
  type CertificatesSmartcardDefinition,
  DEFAULT_SMARTCARD_DATABASE,
  type DomainDefinition,
  type SmartcardDefinition,
  type SmartcardPlacement,
} from '../definition.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { nonNegativeInt } from '../xml-values.js';
import { CHAR_SOURCE_CHILDREN, parseCharSource, renderCharSource } from './char-source.js';
import { ALIAS_RULE } from './placement.js';

/** Where a passthrough card's commands go: a SPICE client (spicevmc) or a socket. */
const SMARTCARD_TYPES = ['spicevmc', 'tcp', 'unix'] as const;

/** libvirt (and QEMU's ccid-card-emulated) take exactly three certificates. */
const CERTIFICATE_COUNT = 3;

export const SMARTCARD_RULE: ElementRule = {
  attrs: { mode: ['passthrough', 'host-certificates'], type: SMARTCARD_TYPES },
  refusedValues: {
    'mode=host':
      "the host's own card reader is not handed to guests; use mode='host-certificates' (a card emulated from an NSS database) or mode='passthrough'",
  },
  label: (e, i) => `<smartcard mode='${e.attrs.mode ?? '?'}'> #${i}`,
  children: {
    ...CHAR_SOURCE_CHILDREN,
    certificate: {},
    database: {},
    alias: ALIAS_RULE,
    address: { attrs: { type: ['ccid'], controller: true, slot: true } },
  },
};

export function parseSmartcard(e: XmlElement, index: number, taken: SmartcardDefinition[]): SmartcardDefinition {
  const label = `<smartcard> #${index}`;
  const mode = e.attrs.mode;
  if (mode !== 'passthrough' && mode !== 'host-certificates') {
    throw xmlUnsupported(
      `smartcard mode='${mode ?? ''}'`,
      "is not supported (ferry runs mode='passthrough' and mode='host-certificates': the host's own reader is not used)",
    );
  }
  const placement = parsePlacement(e, label, taken);
  if (mode === 'passthrough') {
    const source = parseCharSource({ ...e, attrs: { type: e.attrs.type ?? '' } }, SMARTCARD_TYPES, label);
    return { mode, ...source, ...placement };
  }
  if (e.attrs.type !== undefined) throw xmlInvalid('smartcard', `${label}: type='${e.attrs.type}' is for mode='passthrough' only`);
  const certs = childrenNamed(e, 'certificate').map((c) => c.text.trim());
  if (certs.length !== CERTIFICATE_COUNT)
    throw xmlInvalid('smartcard', `host-certificates mode needs exactly ${CERTIFICATE_COUNT} certificates (${label} has ${certs.length})`);
  if (certs.some((c) => c === '')) throw xmlInvalid('smartcard', `${label}: a <certificate> is empty (it names a certificate's nickname in the NSS database)`);
  const db = child(e, 'database');
  const database = db?.text.trim();
  if (db && !database?.startsWith('/')) throw xmlInvalid('smartcard', `expecting absolute path: '${database ?? ''}' (${label} <database>)`);
  return { mode, certificates: [certs[0] as string, certs[1] as string, certs[2] as string], ...(database === undefined ? {} : { database }), ...placement };
}

function parsePlacement(e: XmlElement, label: string, taken: SmartcardDefinition[]): SmartcardPlacement {
  const a = child(e, 'address');
  const controller = a?.attrs.controller === undefined ? 0 : nonNegativeInt(a.attrs.controller, 'address');
  let slot = a?.attrs.slot === undefined ? undefined : nonNegativeInt(a.attrs.slot, 'address');
  if (slot === undefined) {
    slot = 0;
    while (taken.some((t) => t.ccidController === controller && t.ccidSlot === slot)) slot++;
  }
  if (taken.some((t) => t.ccidController === controller && t.ccidSlot === slot))
    throw xmlInvalid('address', `${label}: CCID controller ${controller} slot ${slot} is already in use`);
  const alias = child(e, 'alias')?.attrs.name;
  return { ccidController: controller, ccidSlot: slot, ...(alias === undefined ? {} : { alias }) };
}

export function renderSmartcard(s: SmartcardDefinition, live: boolean): XmlElement {
  const body =
    s.mode === 'passthrough'
      ? renderCharSource(s, live)
      : [...s.certificates.map((c) => el('certificate', {}, c)), s.database === undefined ? undefined : el('database', {}, s.database)];
  return el('smartcard', { mode: s.mode, type: s.mode === 'passthrough' ? s.type : undefined }, [
    ...body,
    live && s.alias !== undefined ? el('alias', { name: s.alias }) : undefined,
    el('address', { type: 'ccid', controller: s.ccidController, slot: s.ccidSlot }),
  ]);
}

/**
 * A spicevmc smartcard talks to a SPICE client: there must be SPICE graphics (QEMU: spicevmc needs -spice).
 * One host-certificates card per domain: QEMU's ccid-card-emulated initialises libcacard once per process
 * and ignores a second card's certificates and database.
 */
export function smartcardProblems(def: DomainDefinition): DefineProblem[] {
  const spice = def.devices.graphics.some((g) => g.type === 'spice');
  return (def.devices.smartcards ?? []).flatMap((s, i, all) => {
    const path = `/domain/devices/smartcard${all.length > 1 ? `[${i + 1}]` : ''}`;
    const device = `<smartcard mode='${s.mode}'> #${i}`;
    const out: DefineProblem[] = [];
    if (s.mode === 'passthrough' && s.type === 'spicevmc' && !spice) {
      out.push({
        path: `${path}/@type`,
        device,
        message: "type 'spicevmc' talks to a SPICE client, and there is no <graphics type='spice'>; use type 'unix' or 'tcp'",
      });
    }
    if (s.mode === 'host-certificates' && all.slice(0, i).some((x) => x.mode === 'host-certificates')) {
      out.push({
        path,
        device,
        message:
          "a second mode='host-certificates' card: QEMU sets its card emulator (libcacard) up once, from the first card's certificates and database, and would give this one the same card; define one",
      });
    }
    if (s.ccidSlot > 0)
      out.push({
        path: `${path}/address/@slot`,
        device,
        message: `slot ${s.ccidSlot}: QEMU's CCID controller (usb-ccid) holds one card, in slot 0; add a <controller type='ccid'> for another`,
      });
    return out;
  });
}

/** The NSS database directory a host-certificates card reads: its <database>, or /etc/pki/nssdb. */
export function smartcardDatabase(s: CertificatesSmartcardDefinition): string {
  return s.database ?? DEFAULT_SMARTCARD_DATABASE;
}

/** The NSS database directories the domain's host-certificates smartcards read, each once. */
export function smartcardDatabases(def: DomainDefinition): string[] {
  return [...new Set((def.devices.smartcards ?? []).flatMap((s) => (s.mode === 'host-certificates' ? [smartcardDatabase(s)] : [])))];
}
