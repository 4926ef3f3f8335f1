import type { MigrationCapabilities, MigrationMonitor } from '../../qemu/migration-monitor.js';

/** QEMU's capability (stable under this name since 8.0): urgent pages go on a channel of their own during post-copy. */
export const PREEMPT = 'postcopy-preempt';

/** True when this QEMU lists the preempt capability in query-migrate-capabilities. */
export async function hasPreempt(mm: Pick<MigrationMonitor, 'queryCapabilities'>): Promise<boolean> {
  return PREEMPT in (await mm.queryCapabilities());
}

/**
 * Post-copy's own capabilities on top of the migration's: the return path (QEMU opens one for post-copy anyway;
 * recovery and the page requests need it, and ferry checks it before the switch) and preempt when both sides agreed.
 * QEMU keeps capabilities from one migration to the next (a VM that arrived by post-copy has them on), so a QEMU
 * that has preempt always gets it said, on or off: QEMU refuses preempt without postcopy-ram.
 */
export function withPostcopyCapabilities(caps: MigrationCapabilities, p: { agreed: boolean; available: boolean }): MigrationCapabilities {
  const postcopy = caps['postcopy-ram'] === true;
  return { ...caps, 'return-path': postcopy, ...(p.available ? { [PREEMPT]: postcopy && p.agreed } : {}) };
}

/**
 * The destination's half of the agreement (Prepare): the source offers preempt when its QEMU has it; it is turned on
 * here only if this QEMU has it too, and the reply says so, so the source turns it on only then. A destination that
 * lacks it (QEMU 7.2) or a source that did not offer it: post-copy runs on the one channel, as before.
 */
export async function agreePreempt(
  mm: Pick<MigrationMonitor, 'queryCapabilities'>,
  offered: boolean,
  postcopy: boolean,
): Promise<{ agreed: boolean; available: boolean }> {
  const available = await hasPreempt(mm);
  return { agreed: postcopy && offered && available, available };
}
