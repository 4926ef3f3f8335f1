import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { assertTransition, isFinal } from './phases.js';

describe('assertTransition()', () => {
  it('allows the forward path of each side', () => {
    for (const [from, to] of [
      ['Begin', 'Prepare'],
      ['Prepare', 'Perform'],
      ['Perform', 'Finish'],
      ['Finish', 'Confirm'],
      ['Confirm', 'Succeeded'],
    ] as const) {
      assertTransition('source', from, to);
    }
    assertTransition('destination', 'Prepare', 'Finish');
    assertTransition('destination', 'Finish', 'Succeeded');
  });

  it('refuses going backwards and leaving a final phase, with MIG_PHASE_INVALID', () => {
    for (const [from, to] of [
      ['Perform', 'Prepare'],
      ['Confirm', 'Failed'],
      ['Succeeded', 'Begin'],
      ['Failed', 'Perform'],
    ] as const) {
      assert.throws(
        () => assertTransition('source', from, to),
        (e: unknown) => e instanceof FerryError && e.code === 'MIG_PHASE_INVALID',
      );
    }
    assert.throws(() => assertTransition('destination', 'Finish', 'Cancelled'), /going backwards/);
  });

  it('isFinal() is true for the outcomes only', () => {
    assert.deepEqual(
      ['Begin', 'Perform', 'Confirm', 'Succeeded', 'Failed', 'Cancelled'].map((p) => isFinal(p as never)),
      [false, false, false, true, true, true],
    );
  });
});
