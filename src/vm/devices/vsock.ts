import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { Placed } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { oneOf, positiveInt, yesNo } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

/** Guest CIDs 0-2 are the hypervisor's, the local and the host's (VMADDR_CID_*): a guest's starts at 3. */
export const FIRST_GUEST_CID = 3;
/** The largest CID vhost-vsock accepts (it refuses U32_MAX and above). */
export const LAST_GUEST_CID = 0xfffffffe;

/**
 * <vsock model='virtio'>: a virtio socket between guest and host
 * (vhost-vsock-pci), addressed by the guest's context id. `cid` is the
 * guest's CID: fixed (auto='no'), or with auto='yes' the one ferryd acquired
 * at start (the persistent definition has none; the live one shows it, as
 * libvirt's does).
 */
export interface VsockDefinition extends Placed {
  model: 'virtio';
  cidAuto: boolean;
  cid?: number;
}

export const VSOCK_RULE: ElementRule = {
  attrs: { model: ['virtio'] },
  label: () => "<vsock model='virtio'>",
  children: { cid: { attrs: { auto: ['yes', 'no'], address: true } }, alias: ALIAS_RULE, address: ADDRESS_RULE },
};

export function parseVsock(e: XmlElement): VsockDefinition {
  const label = "<vsock model='virtio'>";
  const model = oneOf(e.attrs.model ?? 'virtio', ['virtio'] as const, 'vsock', 'model');
  const c = child(e, 'cid');
  const cidAuto = yesNo(c?.attrs.auto, 'cid', 'auto') ?? false;
  const cid = c?.attrs.address === undefined ? undefined : positiveInt(c.attrs.address, 'cid');
  if (cid === undefined && !cidAuto) throw xmlInvalid('cid', `${label}: needs <cid auto='yes'/> or <cid address='N'/> (N from ${FIRST_GUEST_CID})`);
  if (cid !== undefined && (cid < FIRST_GUEST_CID || cid > LAST_GUEST_CID))
    throw xmlInvalid(
      'cid',
      `${label}: guest CID ${cid} is outside ${FIRST_GUEST_CID}..${LAST_GUEST_CID} (0-2 are the hypervisor's, the loopback's and the host's)`,
    );
  return { model, cidAuto, ...(cid === undefined ? {} : { cid }), ...parsePlacement(e, label) };
}

export function renderVsock(v: VsockDefinition, live: boolean): XmlElement {
  return el('vsock', { model: v.model }, [el('cid', { auto: v.cidAuto ? 'yes' : 'no', address: v.cid }), ...renderPlacement(v, live)]);
}

/** The live definition with the guest CID ferryd acquired for its vsock at start (the same definition when it has none). */
export function withVsockCid<T extends { devices: { vsock?: VsockDefinition } }>(def: T, cid: number | undefined): T {
  const v = def.devices.vsock;
  if (!v || cid === undefined || v.cid === cid) return def;
  return { ...def, devices: { ...def.devices, vsock: { ...v, cid } } };
}
