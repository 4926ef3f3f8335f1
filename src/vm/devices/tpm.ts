import { normalizeUuid } from '../identifiers.js';
import { child, el, type XmlElement } from '../../shared/xml.js';
import { TPM_PCR_BANKS, type TpmDefinition, type TpmPcrBank } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { nonNegativeInt, oneOf, yesNo } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

/**
 * <tpm>: an emulated TPM (swtpm, started by ferryd per VM with its own state
 * directory) or an external swtpm's socket. Passthrough of the host's TPM,
 * and swtpm profiles (swtpm 0.10; Debian 12 ships 0.7) stay out of the rule: refused.
 */
export const TPM_RULE: ElementRule = {
  attrs: { model: ['tpm-tis', 'tpm-crb'] },
  label: (e) => `<tpm model='${e.attrs.model ?? 'tpm-tis'}'>`,
  children: {
    backend: {
      attrs: { type: ['emulator', 'external'], version: ['2.0', '1.2'], persistent_state: ['yes', 'no'], debug: true },
      children: {
        active_pcr_banks: { children: Object.fromEntries(TPM_PCR_BANKS.map((b) => [b, {}])) },
        source: { attrs: { type: ['dir', 'file', 'unix'], path: true, mode: ['connect'] } },
        encryption: { attrs: { secret: true } },
      },
    },
    alias: ALIAS_RULE,
  },
};

export function parseTpm(t: XmlElement): TpmDefinition {
  const model = oneOf(t.attrs.model ?? 'tpm-tis', ['tpm-tis', 'tpm-crb'] as const, 'tpm', 'model');
  const label = `<tpm model='${model}'>`;
  const b = child(t, 'backend');
  if (!b) throw xmlInvalid('tpm', `${label}: missing <backend>`);
  const type = b.attrs.type;
  if (type !== 'emulator' && type !== 'external') {
    throw xmlUnsupported(
      'backend',
      `type='${type ?? ''}' is not supported: ferry runs an emulated TPM (swtpm) or connects to an external one; the host's own TPM is not passed through`,
    );
  }
  const source = child(b, 'source');
  let backend: TpmDefinition['backend'];
  if (type === 'external') {
    if (source?.attrs.type !== 'unix' || !source.attrs.path) {
      throw xmlInvalid('source', `${label}: an external TPM needs <source type='unix' mode='connect' path='...'/>`);
    }
    if (child(b, 'encryption')) throw xmlInvalid('encryption', `${label}: an external TPM encrypts its state itself; <encryption> is for an emulated one`);
    backend = { type, socket: source.attrs.path };
  } else {
    const version = oneOf(b.attrs.version ?? '2.0', ['2.0', '1.2'] as const, 'backend', 'version');
    if (model === 'tpm-crb' && version !== '2.0')
      throw xmlInvalid('backend', `${label}: TPM version '${version}' is not supported by the CRB interface (use tpm-tis)`);
    const e: Extract<TpmDefinition['backend'], { type: 'emulator' }> = { type, version };
    const persistent = yesNo(b.attrs.persistent_state, 'backend', 'persistent_state');
    if (persistent !== undefined) e.persistentState = persistent;
    if (b.attrs.debug !== undefined) e.debug = nonNegativeInt(b.attrs.debug, 'backend');
    const banks = child(b, 'active_pcr_banks');
    if (banks) {
      if (version !== '2.0') throw xmlInvalid('active_pcr_banks', `${label}: PCR banks are a TPM 2.0 setting`);
      e.activePcrBanks = TPM_PCR_BANKS.filter((n) => child(banks, n) !== undefined) as TpmPcrBank[];
    }
    const enc = child(b, 'encryption');
    if (enc) {
      const uuid = normalizeUuid(enc.attrs.secret ?? '');
      if (!uuid) throw xmlInvalid('encryption', `${label}: <encryption secret=...> needs a secret's uuid, not '${enc.attrs.secret ?? ''}'`);
      e.encryptionSecret = uuid;
    }
    if (source) {
      const st = oneOf(source.attrs.type ?? '', ['dir', 'file'] as const, 'source', 'type');
      if (!source.attrs.path?.startsWith('/')) throw xmlInvalid('source', `${label}: the state ${st} needs an absolute path`);
      e.source = { type: st, path: source.attrs.path };
    }
    backend = e;
  }
  if (type === 'emulator' && source?.attrs.mode !== undefined) throw xmlUnsupported('source', "mode= is an external TPM's attribute");
  return { model, backend, ...parsePlacement(t, label) };
}

export function renderTpm(t: TpmDefinition, live: boolean): XmlElement {
  const b = t.backend;
  const backend =
    b.type === 'external'
      ? el('backend', { type: 'external' }, [el('source', { type: 'unix', mode: 'connect', path: b.socket })])
      : el(
          'backend',
          {
            type: 'emulator',
            version: b.version,
            persistent_state: b.persistentState === undefined ? undefined : b.persistentState ? 'yes' : 'no',
            debug: b.debug,
          },
          [
            b.activePcrBanks
              ? el(
                  'active_pcr_banks',
                  {},
                  b.activePcrBanks.map((n) => el(n, {})),
                )
              : undefined,
            b.source ? el('source', { type: b.source.type, path: b.source.path }) : undefined,
            b.encryptionSecret ? el('encryption', { secret: b.encryptionSecret }) : undefined,
          ],
        );
  return el('tpm', { model: t.model }, [backend, ...renderPlacement(t, live)]);
}
