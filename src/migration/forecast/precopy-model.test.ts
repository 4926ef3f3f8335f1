import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { predictPostcopy, predictPrecopy } from './precopy-model.js';

const MiB = 1024 * 1024;

describe('predictPrecopy', () => {
  it('an idle guest: one pass, then a switch-over that fits the limit', () => {
    const f = predictPrecopy({ firstPassBytes: 512 * MiB, dirtyBytesPerSec: 1 * MiB, linkBytesPerSec: 100 * MiB, downtimeLimitMs: [300] });
    assert.equal(f.converges, true);
    assert.equal(f.passes.length, 1);
    assert.ok(Math.abs(f.passes[0]!.seconds - 5.12) < 1e-9);
    // 5.12 MiB left after 5.12 s at 1 MiB/s: 51.2 ms at 100 MiB/s.
    assert.ok(Math.abs((f.downtimeMs ?? 0) - 51.2) < 1e-6);
    assert.ok(Math.abs(f.totalSeconds - 5.1712) < 1e-6);
  });

  it('a guest dirtying faster than the link never converges and stalls from the third pass', () => {
    const f = predictPrecopy({
      firstPassBytes: 512 * MiB,
      dirtyBytesPerSec: 150 * MiB,
      workingSetBytes: 512 * MiB,
      linkBytesPerSec: 100 * MiB,
      downtimeLimitMs: [50, 100, 150, 200, 300],
      maxPasses: 10,
    });
    assert.equal(f.converges, false);
    assert.equal(f.downtimeMs, undefined);
    assert.equal(f.passes.length, 10);
    assert.ok(f.passes.every((p) => p.remainingBytes === 512 * MiB));
    assert.equal(f.firstStall, 2);
    assert.equal(f.passes[4]!.downtimeLimitMs, 300);
    assert.equal(f.passes[9]!.downtimeLimitMs, 300);
  });

  it('a guest dirtying at half the link rate converges geometrically', () => {
    const f = predictPrecopy({ firstPassBytes: 800 * MiB, dirtyBytesPerSec: 50 * MiB, linkBytesPerSec: 100 * MiB, downtimeLimitMs: [300] });
    // left after each pass: 400, 200, 100, 50, 25 MiB; 25 MiB takes 250 ms <= 300.
    assert.deepEqual(
      f.passes.map((p) => p.remainingBytes / MiB),
      [400, 200, 100, 50, 25],
    );
    assert.equal(f.converges, true);
    assert.ok(Math.abs((f.downtimeMs ?? 0) - 250) < 1e-6);
    assert.ok(Math.abs(f.totalSeconds - (8 + 4 + 2 + 1 + 0.5 + 0.25)) < 1e-9);
    assert.equal(f.firstStall, undefined);
  });

  it('throttling (dirtyFactor) and compression (streamRatio) change the outcome', () => {
    const base = { firstPassBytes: 512 * MiB, dirtyBytesPerSec: 150 * MiB, workingSetBytes: 512 * MiB, linkBytesPerSec: 100 * MiB, downtimeLimitMs: [300] };
    assert.equal(predictPrecopy({ ...base, dirtyFactor: [1, 0.2] }).converges, true);
    assert.equal(predictPrecopy({ ...base, streamRatio: 0.25 }).converges, true);
    assert.equal(predictPrecopy(base).converges, false);
  });

  it('a deadline stops the prediction before a pass that would end after it', () => {
    const f = predictPrecopy({
      firstPassBytes: 1000 * MiB,
      dirtyBytesPerSec: 150 * MiB,
      linkBytesPerSec: 100 * MiB,
      downtimeLimitMs: [300],
      deadlineSeconds: 15,
    });
    assert.equal(f.converges, false);
    assert.equal(f.passes.length, 1);
    assert.equal(f.totalSeconds, 10);
  });

  it('refuses inputs it cannot reason about', () => {
    assert.throws(() => predictPrecopy({ firstPassBytes: 1, dirtyBytesPerSec: 0, linkBytesPerSec: 0, downtimeLimitMs: [300] }), /linkBytesPerSec/);
    assert.throws(() => predictPrecopy({ firstPassBytes: 1, dirtyBytesPerSec: -1, linkBytesPerSec: 1, downtimeLimitMs: [300] }), /dirtyBytesPerSec/);
    assert.throws(() => predictPrecopy({ firstPassBytes: 1, dirtyBytesPerSec: 0, linkBytesPerSec: 1, downtimeLimitMs: [] }), /downtimeLimitMs/);
  });
});

describe('predictPostcopy', () => {
  it('switches after the given passes and fetches what they left', () => {
    const f = predictPostcopy(
      { firstPassBytes: 512 * MiB, dirtyBytesPerSec: 150 * MiB, workingSetBytes: 512 * MiB, linkBytesPerSec: 100 * MiB, downtimeLimitMs: [300] },
      1,
    );
    assert.ok(Math.abs(f.switchAt - 5.12) < 1e-9);
    assert.equal(f.postcopyBytes, 512 * MiB);
    assert.ok(Math.abs(f.totalSeconds - 10.24) < 1e-9);
  });
});

describe('predictPostcopy past a bandwidth cap', () => {
  it('fetches the rest at the post-copy rate', () => {
    const f = predictPostcopy(
      { firstPassBytes: 512 * MiB, dirtyBytesPerSec: 150 * MiB, workingSetBytes: 512 * MiB, linkBytesPerSec: 100 * MiB, downtimeLimitMs: [300] },
      1,
      1024 * MiB,
    );
    assert.ok(Math.abs(f.totalSeconds - 5.62) < 1e-9);
  });
});
