import { FerryError } from '../errors/ferry-error.js';

/** libvirt's v3 migration phases (Src Begin → Dst Prepare → Src Perform → Dst Finish → Src Confirm) and the outcomes. */
export type Phase = 'Begin' | 'Prepare' | 'Perform' | 'Finish' | 'Confirm' | 'Succeeded' | 'Failed' | 'Cancelled';

export type Side = 'source' | 'destination';

/** Allowed transitions, per side. A migration protocol never goes backwards. */
export const TRANSITIONS: Record<Side, Partial<Record<Phase, readonly Phase[]>>> = {
  source: {
    Begin: ['Prepare', 'Failed', 'Cancelled'],
    Prepare: ['Perform', 'Failed', 'Cancelled'],
    Perform: ['Finish', 'Failed', 'Cancelled'],
    // From Finish only when the destination says it did not resume the VM.
    Finish: ['Confirm', 'Failed', 'Cancelled'],
    Confirm: ['Succeeded'],
  },
  destination: {
    Prepare: ['Finish', 'Failed', 'Cancelled'],
    Finish: ['Succeeded', 'Failed'],
  },
};

/**
 * The moves recovery makes when a restarted ferryd (or a lost peer) settles a migration left in flight,
 * from the phase the store last recorded. It rolls back (to Failed) from any unfinished phase, or, when
 * the destination holds the VM, completes the source's protocol one step at a time (Perform → Finish →
 * Confirm → Succeeded); a destination fails, or succeeds once its VM runs. Every move is also in
 * TRANSITIONS (a test checks it): recovery never takes a step the protocol forbids, it only starts from a
 * phase the live code was in when ferryd stopped.
 */
export const RECOVERY_TRANSITIONS: Record<Side, Partial<Record<Phase, readonly Phase[]>>> = {
  source: {
    Begin: ['Failed'],
    Prepare: ['Failed'],
    Perform: ['Finish', 'Failed'],
    Finish: ['Confirm', 'Failed'],
    Confirm: ['Succeeded'],
  },
  destination: {
    Prepare: ['Failed'],
    Finish: ['Succeeded', 'Failed'],
  },
};

export function isFinal(phase: Phase): boolean {
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Cancelled';
}

/** Throws MIG_PHASE_INVALID unless `from → to` is in the table for this side (TRANSITIONS, or RECOVERY_TRANSITIONS). */
export function assertTransition(side: Side, from: Phase, to: Phase, table: typeof TRANSITIONS = TRANSITIONS): void {
  if (!(table[side][from] ?? []).includes(to)) {
    throw new FerryError('MIG_PHASE_INVALID', `internal error: migration protocol going backwards: ${side} ${from} → ${to}`, {
      details: { side, from, to },
    });
  }
}
