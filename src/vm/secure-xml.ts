import { parseXml, renderXml, type XmlElement } from '../shared/xml.js';

/**
 * Attributes that are secrets, by element: what libvirt formats only with
 * VIR_DOMAIN_XML_SECURE (virsh dumpxml --security-info). The typed
 * definition holds one, GraphicsDefinition.passwd (renderGraphics() leaves
 * it out without `secrets`); this works on stored XML text, which is what
 * dumpxml returns. QEMU never sees it on its command line (set_password).
 */
const SECRET_ATTRIBUTES: Record<string, readonly string[]> = { graphics: ['passwd'] };

/**
 * Elements that are secrets as a whole: an http(s) source's <cookies> (libvirt
 * formats them only with VIR_DOMAIN_XML_SECURE since CVE-2020-14301). QEMU gets
 * them as encrypted secret objects, never on its command line.
 */
const SECRET_ELEMENTS: readonly string[] = ['cookies'];

/**
 * The domain XML without its secrets, for callers that did not ask for them
 * (or may not: read-only connections). A document without any is returned
 * as it is.
 */
export function withoutSecrets(xml: string): string {
  if (![...Object.values(SECRET_ATTRIBUTES).flat(), ...SECRET_ELEMENTS].some((a) => xml.includes(a))) return xml;
  const root = parseXml(xml);
  return strip(root) ? renderXml(root) : xml;
}

function strip(e: XmlElement): boolean {
  let changed = false;
  for (const a of SECRET_ATTRIBUTES[e.name] ?? []) {
    if (a in e.attrs) {
      delete e.attrs[a];
      changed = true;
    }
  }
  const kept = e.children.filter((c) => !SECRET_ELEMENTS.includes(c.name));
  if (kept.length !== e.children.length) {
    e.children = kept;
    changed = true;
  }
  for (const c of e.children) changed = strip(c) || changed;
  return changed;
}
