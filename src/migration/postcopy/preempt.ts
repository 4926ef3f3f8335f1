import type { MigrationCapabilities, MigrationMonitor } from '../../qemu/migration-monitor.js';

/** QEMU's capability (stable under this name since 8.0): urgent pages go on a channel of their own during post-copy. */
export const PREEMPT = 'postcopy-preempt';

/** True when this QEMU lists the preempt capability in query-migrate-capabilities. */
export async function hasPreempt(mm: Pick<MigrationMonitor, 'queryCapabilities'>): Promise<boolean> {
  return PREEMPT in (await mm.queryCapabilities());
}

/**
 * Post-copy's own capabilities on top of the migration's: the return path (QEMU opens one for post-copy anyway;
 * recovery and the page requests need it, and ferry checks it before the switch) and, when both sides agreed, preempt.
 * Without post-copy the capabilities are left as they are.
 */
export function withPostcopyCapabilities(caps: MigrationCapabilities, preempt: boolean): MigrationCapabilities {
  if (!caps['postcopy-ram']) return caps;
  return { ...caps, 'return-path': true, ...(preempt ? { [PREEMPT]: true } : {}) };
}

/**
 * The destination's half of the agreement (Prepare): the source offers preempt when its QEMU has it; it is turned on
 * here only if this QEMU has it too, and the reply says so, so the source turns it on only then. A destination that
 * lacks it (QEMU 7.2) or a source that did not offer it: post-copy runs on the one channel, as before.
 */
export async function agreePreempt(mm: Pick<MigrationMonitor, 'queryCapabilities'>, offered: boolean, postcopy: boolean): Promise<boolean> {
  return postcopy && offered && (await hasPreempt(mm));
}
