import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CpuCatalog } from '../shared/cpu-catalog.js';
import { catalogFromReplies } from '../qemu/cpu-catalog.js';
import { cpuModelCheck, missingCpuFeatures } from './cpu-model-check.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/cpu/${name}`, import.meta.url), 'utf8');
const tcg = JSON.parse(fixture('qemu-10.0-tcg-catalog.json')) as CpuCatalog;
const replies = JSON.parse(fixture('qemu-10.0-kvm-replies.json')) as { 'query-cpu-definitions': unknown; 'query-cpu-model-expansion': Record<string, unknown> };
const kvm = catalogFromReplies('kvm', replies['query-cpu-definitions'], new Map(Object.entries(replies['query-cpu-model-expansion'])));

describe("pre-flight: the destination runs the guest's named CPU model exactly", () => {
  it('KVM destination lacking AVX-512: names the missing features; check=full is not overridable, partial is, none warns', () => {
    const cpu = { mode: 'custom', model: 'Skylake-Server', features: [{ policy: 'require', name: 'pku' }], sourceMissing: [] };
    const full = cpuModelCheck({ ...cpu, check: 'full' }, kvm, 'hostb');
    assert.equal(full.outcome, 'fail');
    assert.equal(full.overridable, false);
    assert.match(
      full.reason,
      /^CPU model 'Skylake-Server' on hostb lacks avx512bw, avx512cd, avx512dq, avx512f, avx512vl, clflushopt, clwb, hle, pdpe1gb, rtm \(under KVM\): QEMU refuses/,
    );
    const partial = cpuModelCheck(cpu, kvm, 'hostb');
    assert.deepEqual([partial.outcome, partial.overridable], ['fail', true]);
    const none = cpuModelCheck({ ...cpu, check: 'none' }, kvm, 'hostb');
    assert.deepEqual([none.outcome, none.overridable], ['warn', true]);
  });

  it('a required feature the destination lacks is named; features the guest never had on the source are not', () => {
    const kvmLacksPku = catalogFromReplies(
      'kvm',
      replies['query-cpu-definitions'],
      new Map(
        Object.entries(replies['query-cpu-model-expansion']).map(([k, v]) => {
          if (k !== 'host') return [k, v];
          const props = { ...(v as { model: { props: Record<string, boolean> } }).model.props, pku: false };
          return [k, { model: { name: 'base', props } }];
        }),
      ),
    );
    const r = cpuModelCheck({ mode: 'custom', model: 'Haswell-noTSX', features: [{ policy: 'require', name: 'pku' }] }, kvmLacksPku, 'hostb');
    assert.match(r.reason, /^CPU model 'Haswell-noTSX' on hostb lacks pku \(under KVM\)/);
    // Under TCG (real answers) Skylake-Server lacks the same features on both hosts: the guest never had them.
    const cpu = { mode: 'custom', model: 'Skylake-Server', features: [] };
    const sourceMissing = missingCpuFeatures(tcg, cpu);
    assert.ok(sourceMissing.includes('avx512f'));
    const same = cpuModelCheck({ ...cpu, sourceMissing }, tcg, 'hostb');
    assert.equal(same.outcome, 'pass');
    assert.match(same.reason, /runs without avx512bw, .* under TCG, as on the source/);
    assert.equal(cpuModelCheck({ mode: 'custom', model: 'Conroe', features: [] }, tcg, 'hostb').reason, 'model Conroe runs exactly under TCG');
    assert.equal(cpuModelCheck({ mode: 'custom', model: 'Pentium9', features: [] }, tcg, 'hostb').outcome, 'fail');
  });
});
