/** libvirt's virDomainState, as ferry stores it. */
export type DomainState = 'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended';

/** How virsh prints each state (`virsh list`, `virsh domstate`). */
export const STATE_LABEL: Record<DomainState, string> = {
  nostate: 'no state',
  running: 'running',
  blocked: 'idle',
  paused: 'paused',
  shutdown: 'in shutdown',
  shutoff: 'shut off',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
};

/**
 * The reasons ferry records, in virsh's words (`virsh domstate --reason`).
 * Keyed by state so a state can only carry one of its own reasons.
 */
export const STATE_REASONS = {
  nostate: ['unknown'],
  running: ['unknown', 'booted', 'migrated', 'restored', 'unpaused', 'migration canceled', 'crashed', 'post-copy'],
  blocked: ['unknown'],
  paused: [
    'unknown',
    'user',
    'migrating',
    'saving',
    'shutting down',
    'crashed',
    'starting up',
    'post-copy',
    'post-copy failed',
    'I/O error',
    'lock failure',
    'watchdog',
  ],
  shutdown: ['unknown', 'user'],
  shutoff: ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'daemon'],
  crashed: ['unknown', 'panicked'],
  pmsuspended: ['unknown'],
} as const satisfies Record<DomainState, readonly string[]>;

export type StateReason<S extends DomainState = DomainState> = (typeof STATE_REASONS)[S][number];

/** A state with one of its reasons. */
export type DomainStatus = { [S in DomainState]: { state: S; reason: StateReason<S> } }[DomainState];

/** Active means a QEMU process exists for the domain (libvirt's virDomainIsActive). */
export function isActiveState(state: DomainState): boolean {
  return state !== 'shutoff' && state !== 'nostate';
}
