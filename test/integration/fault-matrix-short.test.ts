import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FAULTS } from '../fault-matrix/faults.js';
import { MOMENTS } from '../fault-matrix/moments.js';
import { FaultRig } from '../fault-matrix/rig.js';
import { runTrial } from '../fault-matrix/trial.js';

/**
 * CI's slice of the fault matrix (docs/reliability.md; the whole matrix runs on demand with
 * test/fault-matrix/run.ts): one trial of one cell per process, each at a moment the recovery tests
 * (recovery-branches, recovery-postcopy) do not already cover, and the cells whose failures the matrix found
 * (kill-dst-ferryd at finish: once in six, the guest found its disk changed after the rollback; kill-src-qemu in
 * post-copy: two definitions left; kill-dst-qemu in post-copy: the source waited forever for a resume), on real QEMU. Each must end with the guest
 * on exactly one host (or lost only where its QEMU was killed), one persistent definition, the other host
 * clean, the guest's memory and disk checks passing, and an error that names a code.
 */
const SLICE: Array<[fault: string, moment: string, expected?: { outcome?: string; error: RegExp }]> = [
  ['kill-src-qemu', 'perform-early'],
  ['kill-dst-qemu', 'perform-late'],
  ['kill-dst-ferryd', 'finish'],
  ['kill-src-lockd', 'perform-late'],
  ['kill-dst-lockd', 'confirm'],
  ['stop-dst-ferryd', 'prepare'],
  ['kill-src-qemu', 'postcopy'],
  ['kill-dst-qemu', 'postcopy', { outcome: 'crashed', error: /exited during post-copy: the guest is lost.*defined on the destination/ }],
  // The network and disk faults' findings: an Abort lost with the management link left the incoming QEMU behind;
  // a stalled stream waited for ever; a full disk on the destination left its incoming QEMU behind.
  ['cut-management', 'prepare'],
  ['stall-migration', 'perform-early', { error: /no data moved for 10 s \(migration_progress_timeout\)/ }],
  ['full-dst-disk', 'prepare'],
];

describe('the fault matrix, CI slice', () => {
  const rig = new FaultRig();
  before(() => rig.start());
  after(() => rig.stop());

  for (const [faultName, momentName, expected] of SLICE) {
    it(`${faultName} at ${momentName}`, async (t) => {
      const fault = FAULTS.find((f) => f.name === faultName);
      const moment = MOMENTS.find((m) => m.name === momentName);
      assert.ok(fault && moment);
      let r = await runTrial(rig, fault, moment, { holdMs: 20_000 });
      // A moment that passed before it could be held is tried again (it proves nothing either way).
      for (let i = 0; r.result === 'missed' && i < 3; i++) r = await runTrial(rig, fault, moment, { holdMs: 20_000 });
      t.diagnostic(JSON.stringify(r));
      assert.equal(r.result, 'ok', (r.violations ?? [r.note ?? '']).join('\n'));
      if (expected) {
        if (expected.outcome) assert.equal(r.outcome, expected.outcome);
        assert.match(r.cli?.error ?? '', expected.error);
      }
    });
  }
});
