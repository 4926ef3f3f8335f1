import { createHash } from 'node:crypto';

/** Lower-case dashed form of a UUID written with or without dashes; undefined when malformed. */
export function normalizeUuid(text: string): string | undefined {
  const hex = text.trim().toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Lower-case colon form of a unicast MAC address; undefined when malformed or multicast. */
export function normalizeMac(text: string): string | undefined {
  const parts = text.trim().toLowerCase().split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{1,2}$/.test(p))) return undefined;
  const bytes = parts.map((p) => p.padStart(2, '0'));
  if ((Number.parseInt(bytes[0] as string, 16) & 1) === 1) return undefined;
  return bytes.join(':');
}

/** A stable MAC in QEMU's 52:54:00 range for the n-th interface of a domain. */
export function macFromUuid(uuid: string, index: number): string {
  const h = createHash('sha256').update(`${uuid}/${index}`).digest();
  return ['52', '54', '00', ...[h[0], h[1], h[2]].map((b) => (b ?? 0).toString(16).padStart(2, '0'))].join(':');
}

/** virsh accepts a domain by name, id or uuid; this tells which one a string is. */
export function classifyDomainRef(ref: string): { kind: 'id'; id: number } | { kind: 'uuid'; uuid: string } | { kind: 'name'; name: string } {
  if (/^\d+$/.test(ref)) return { kind: 'id', id: Number(ref) };
  const uuid = normalizeUuid(ref);
  if (uuid && /^[0-9a-fA-F-]{32,36}$/.test(ref)) return { kind: 'uuid', uuid };
  return { kind: 'name', name: ref };
}
