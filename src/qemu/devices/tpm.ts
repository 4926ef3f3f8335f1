import type { DomainDefinition } from '../../vm/definition.js';
import { escapeOpt } from './device-props.js';

/**
 * The TPM as libvirt puts it on the command line: a chardev to swtpm's data
 * socket (ferryd's swtpm for an emulated TPM, the given one for an external
 * TPM), the tpm-emulator backend on it, and the TIS or CRB interface.
 */
export function tpmArgs(def: DomainDefinition, swtpmSocket: string | undefined): string[] {
  const t = def.devices.tpm;
  if (!t) return [];
  const socket = t.backend.type === 'external' ? t.backend.socket : swtpmSocket;
  if (socket === undefined) throw new TypeError('an emulated TPM needs its swtpm socket');
  const alias = t.alias ?? 'tpm0';
  return [
    '-chardev',
    `socket,id=chrtpm,path=${escapeOpt(socket)}`,
    '-tpmdev',
    `emulator,id=tpm-${alias},chardev=chrtpm`,
    '-device',
    JSON.stringify({ driver: t.model, tpmdev: `tpm-${alias}`, id: alias }),
  ];
}
