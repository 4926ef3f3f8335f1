import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { pinnedSets, pinningCheck } from './pinning-check.js';

const domain = (inner: string): string =>
  `<domain type='kvm'><name>p</name><memory>131072</memory>${inner}<os><type machine='q35'>hvm</type></os><devices/></domain>`;

describe('the destination has the host CPUs and nodes a domain is pinned to', () => {
  it("lists static pins only (placement auto is the destination's own choice)", () => {
    const def = parseDomainXml(
      domain(
        "<vcpu cpuset='1-2'>2</vcpu><cputune><vcpupin vcpu='1' cpuset='3'/><emulatorpin cpuset='0'/></cputune><numatune><memory mode='strict' nodeset='1'/></numatune>",
      ),
    );
    assert.deepEqual(
      pinnedSets(def).map((s) => `${s.where}:${s.kind}:${s.set}`),
      ['<vcpu cpuset>:cpus:1-2', "<vcpupin vcpu='1'>:cpus:3", '<emulatorpin>:cpus:0', '<numatune><memory>:nodes:1'],
    );
    assert.deepEqual(pinnedSets(parseDomainXml(domain("<vcpu placement='auto'>2</vcpu>"))), []);
  });

  it('names each element and what is missing, and passes when all is there', () => {
    const sets = pinnedSets(parseDomainXml(domain("<vcpu cpuset='1-2'>2</vcpu><numatune><memory mode='strict' nodeset='1'/></numatune>")));
    const r = pinningCheck(sets, 'hostb', { cpus: [0, 1], nodes: [0] });
    assert.deepEqual([r.id, r.outcome, r.overridable], ['pinning', 'fail', false]);
    assert.equal(r.reason, '<vcpu cpuset> names host CPU 2; <numatune><memory> names host NUMA node 1, which hostb does not have (CPUs 0-1, NUMA nodes 0)');
    assert.equal(pinningCheck(sets, 'hostb', { cpus: [0, 1, 2, 3], nodes: [0, 1] }).outcome, 'pass');
  });
});
