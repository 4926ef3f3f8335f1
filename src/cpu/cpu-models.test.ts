import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CpuCatalog } from '../shared/cpu-catalog.js';
import { catalogFromReplies } from '../qemu/cpu-catalog.js';
import { baselineCpu, renderBaseline } from './cpu-baseline.js';
import { compareCpu } from './cpu-compare.js';
import { cpuDescriptions } from './cpu-descriptions.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/cpu/${name}`, import.meta.url), 'utf8');
/** Real answers of QEMU 10.0 under TCG (a trimmed catalog of src/qemu/cpu-catalog.ts's probe). */
const tcg = JSON.parse(fixture('qemu-10.0-tcg-catalog.json')) as CpuCatalog;
/** KVM-shaped QMP replies (constructed: no /dev/kvm here), through the same parser the probe uses. */
const kvmReplies = JSON.parse(fixture('qemu-10.0-kvm-replies.json')) as {
  'query-cpu-definitions': unknown;
  'query-cpu-model-expansion': Record<string, unknown>;
};
const kvm = catalogFromReplies('kvm', kvmReplies['query-cpu-definitions'], new Map(Object.entries(kvmReplies['query-cpu-model-expansion'])));
const one = (xml: string) => cpuDescriptions(xml, 'cpu.xml')[0]!;

describe('CPU descriptions', () => {
  it("reads a bare <cpu>, a domain, several hosts, and domcapabilities host-model; libvirt spellings become QEMU's", () => {
    assert.deepEqual(one("<cpu mode='custom' check='full'><model>Haswell</model><feature policy='disable' name='lahf_lm'/><feature name='sse4_2'/></cpu>"), {
      mode: 'custom',
      model: 'Haswell',
      check: 'full',
      features: [
        { policy: 'disable', name: 'lahf-lm' },
        { policy: 'require', name: 'sse4.2' },
      ],
    });
    assert.equal(one("<?xml version='1.0'?><domain type='kvm'><name>a</name><cpu><model>Nehalem</model></cpu></domain>").model, 'Nehalem');
    const caps = cpuDescriptions(
      "<capabilities><host><cpu><arch>x86_64</arch><model>Westmere</model><vendor>Intel</vendor><feature name='pclmuldq'/></cpu><topology><cells><cell><cpus><cpu id='0'/></cpus></cell></cells></topology></host></capabilities><cpu><model>Haswell</model></cpu>",
      'f',
    );
    assert.deepEqual(
      caps.map((c) => [c.model, c.features.map((f) => f.name)]),
      [
        ['Westmere', ['pclmulqdq']],
        ['Haswell', []],
      ],
    );
    assert.equal(
      one(
        "<domainCapabilities><cpu><mode name='host-passthrough' supported='yes'/><mode name='host-model' supported='yes'><model fallback='forbid'>Skylake-Client</model><feature policy='require' name='pku'/></mode></cpu></domainCapabilities>",
      ).model,
      'Skylake-Client',
    );
    assert.throws(() => cpuDescriptions('<domain><name>x</name></domain>', 'f.xml'), /File 'f.xml' does not contain any <cpu> element/);
  });
});

describe('hypervisor-cpu-compare', () => {
  it('TCG (real answers): an old model is a subset, the host CPU is identical, a recent Intel model lacks what TCG cannot do', () => {
    assert.deepEqual(compareCpu(tcg, one('<cpu><model>Conroe</model></cpu>')), { result: 'superset' });
    assert.deepEqual(compareCpu(tcg, one("<cpu mode='host-model'/>")), { result: 'identical' });
    const exact = `<cpu><model>Conroe</model>${tcg.hostFeatures.map((f) => `<feature name='${f}'/>`).join('')}</cpu>`;
    assert.deepEqual(compareCpu(tcg, one(exact)), { result: 'identical' });
    assert.deepEqual(compareCpu(tcg, one('<cpu><model>Skylake-Server</model></cpu>')), {
      result: 'incompatible',
      missing: ['avx512bw', 'avx512cd', 'avx512dq', 'avx512f', 'avx512vl', 'hle', 'invpcid', 'pcid', 'rtm', 'tsc-deadline', 'xsavec'],
      forbidden: [],
    });
    // Disabling what TCG lacks makes it runnable; forbidding a feature the host has does not.
    const disabled = ['avx512bw', 'avx512cd', 'avx512dq', 'avx512f', 'avx512vl', 'hle', 'invpcid', 'pcid', 'rtm', 'tsc-deadline', 'xsavec']
      .map((f) => `<feature policy='disable' name='${f}'/>`)
      .join('');
    assert.deepEqual(compareCpu(tcg, one(`<cpu><model>Skylake-Server</model>${disabled}</cpu>`)), { result: 'superset' });
    assert.deepEqual(compareCpu(tcg, one("<cpu><model>Conroe</model><feature policy='forbid' name='sse2'/></cpu>")), {
      result: 'incompatible',
      missing: [],
      forbidden: ['sse2'],
    });
    assert.throws(() => compareCpu(tcg, one('<cpu><model>Pentium9</model></cpu>')), /Unknown CPU model Pentium9/);
  });

  it('KVM: the host model is "host"; Skylake-Server on a Skylake-Client host lacks the AVX-512 set', () => {
    assert.equal(kvm.hostModel, 'host');
    assert.deepEqual(
      compareCpu(kvm, one("<cpu><model>Skylake-Client</model><feature policy='disable' name='hle'/><feature policy='disable' name='rtm'/></cpu>")),
      { result: 'superset' },
    );
    const c = compareCpu(kvm, one("<cpu><model>Skylake-Server</model><feature policy='require' name='pku'/></cpu>"));
    assert.equal(c.result, 'incompatible');
    assert.ok(c.result === 'incompatible' && c.missing.includes('avx512f') && !c.missing.includes('pku'), JSON.stringify(c));
  });
});

describe('hypervisor-cpu-baseline', () => {
  it('picks the named model all the CPUs share, by its unversioned name, with the common extra features', () => {
    const b = baselineCpu(tcg, cpuDescriptions('<cpu><model>Skylake-Server</model></cpu><cpu><model>Cascadelake-Server</model></cpu>', 'f'));
    assert.deepEqual(b, { model: 'Skylake-Server', require: [], disable: [] });
    const hosts = baselineCpu(
      tcg,
      cpuDescriptions(
        "<cpu><model>Haswell-noTSX</model><feature name='pku'/></cpu><cpu><model>Skylake-Client</model><feature name='pku'/><feature policy='disable' name='hle'/><feature policy='disable' name='rtm'/></cpu>",
        'f',
      ),
    );
    assert.equal(hosts.model, 'Haswell-noTSX');
    assert.deepEqual(hosts.require, ['pku']);
    assert.deepEqual(hosts.disable, []);
    assert.equal(
      renderBaseline(hosts),
      "<cpu mode='custom' match='exact'>\n  <model fallback='forbid'>Haswell-noTSX</model>\n  <feature policy='require' name='pku'/>\n</cpu>\n",
    );
  });

  it('disables a model feature one host lacks when that is the closest fit', () => {
    const b = baselineCpu(
      tcg,
      cpuDescriptions("<cpu><model>Skylake-Server</model><feature policy='disable' name='avx512vl'/></cpu><cpu><model>Skylake-Server</model></cpu>", 'f'),
    );
    assert.deepEqual(b, { model: 'Skylake-Server', require: [], disable: ['avx512vl'] });
  });
});
