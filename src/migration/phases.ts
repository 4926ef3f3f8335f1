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

export function isFinal(phase: Phase): boolean {
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Cancelled';
}

/** Throws MIG_PHASE_INVALID unless `from → to` is in the table for this side. */
export function assertTransition(side: Side, from: Phase, to: Phase): void {
  if (!(TRANSITIONS[side][from] ?? []).includes(to)) {
    throw new FerryError('MIG_PHASE_INVALID', `internal error: migration protocol going backwards: ${side} ${from} → ${to}`, {
      details: { side, from, to },
    });
  }
}
