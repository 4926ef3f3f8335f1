/** libvirt's spellings of CPU features that QEMU names otherwise (QEMU's own are the canonical ones here). */
const LIBVIRT_NAMES: Record<string, string> = {
  pclmuldq: 'pclmulqdq',
  sse3: 'pni',
  i64: 'lm',
  xd: 'nx',
  ffxsr: 'fxsr-opt',
  'sse4-1': 'sse4.1',
  'sse4-2': 'sse4.2',
};

/** A feature name as QEMU's static expansion spells it: lower case, '-' for '_', QEMU's name for libvirt's aliases. */
export function canonicalFeature(name: string): string {
  const n = name.trim().toLowerCase().replace(/_/g, '-');
  return LIBVIRT_NAMES[n] ?? n;
}
