import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { guestXml } from '../helpers/guest.js';
import { row } from '../helpers/preflight-table.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/**
 * CPU models against real QEMU 10.0 under TCG: hypervisor-cpu-compare and
 * hypervisor-cpu-baseline on ferryd's answers (query-cpu-definitions,
 * query-cpu-model-expansion), QEMU's own refusal of check='full', and the
 * pre-flight row of a running Skylake-Server guest on two real hosts.
 */
describe('CPU models: compare, baseline, pre-flight', () => {
  const hosts = new TwoHosts();
  const file = (name: string, text: string): string => {
    const path = `${hosts.dir.path}/${name}`;
    writeFileSync(path, text);
    return path;
  };
  const withCpu = (name: string, cpu: string): string => file(`${name}.xml`, guestXml({ name }).replace('<devices>', `${cpu}\n  <devices>`));

  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop().catch(() => undefined);
    killLeftovers(hosts.dir.path);
  });

  it("hypervisor-cpu-compare: virsh's three answers and exit codes; incompatible names what TCG lacks", async () => {
    const old = file('conroe.xml', "<cpu mode='custom'><model>Conroe</model><feature policy='require' name='sse4_1'/></cpu>");
    const r1 = await hosts.a.ferry('hypervisor-cpu-compare', old);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stdout, `The CPU provided by hypervisor on the host is a superset of CPU described in ${old}\n\n`);

    const skx = file('skx.xml', "<domain type='kvm'><name>x</name><cpu mode='custom'><model>Skylake-Server</model></cpu></domain>");
    const r2 = await hosts.a.ferry('hypervisor-cpu-compare', skx);
    assert.equal(r2.code, 1);
    assert.equal(r2.stdout, `CPU described in ${skx} is incompatible with the CPU provided by hypervisor on the host\n\n`);
    assert.match(
      r2.stderr,
      /^hint: Host CPU does not provide required features: avx512bw, avx512cd, avx512dq, avx512f, avx512vl, .* \(under TCG\) \[CPU_INCOMPATIBLE\]$/m,
    );

    const r3 = await hosts.a.ferry('hypervisor-cpu-compare', skx, '--error');
    assert.equal(r3.code, 1);
    assert.match(
      r3.stderr,
      new RegExp(
        `^error: Failed to compare hypervisor CPU with ${skx}\nerror: the CPU is incompatible with host CPU: Host CPU does not provide required features: avx512bw, .*avx512f`,
      ),
    );
  });

  it('hypervisor-cpu-baseline / cpu-baseline: the model two hosts share, which this hypervisor then runs', async () => {
    const hostsFile = file(
      'hosts.xml',
      [
        "<cpu><arch>x86_64</arch><model>Westmere</model><vendor>Intel</vendor><feature name='x2apic'/><feature name='popcnt'/></cpu>",
        "<cpu><arch>x86_64</arch><model>Nehalem</model><vendor>Intel</vendor><feature name='x2apic'/><feature name='aes'/></cpu>",
      ].join('\n'),
    );
    const out = await hosts.a.ok('hypervisor-cpu-baseline', hostsFile);
    assert.equal(
      out,
      "<cpu mode='custom' match='exact'>\n  <model fallback='forbid'>Nehalem</model>\n  <feature policy='require' name='aes'/>\n  <feature policy='require' name='x2apic'/>\n</cpu>\n",
    );
    assert.equal(await hosts.a.ok('cpu-baseline', hostsFile), out);
    const check = await hosts.a.ferry('hypervisor-cpu-compare', file('baseline.xml', out));
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(await hosts.a.ok('hypervisor-cpu-baseline', '--model', 'Skylake-Server-v1'), /<model fallback='forbid'>Skylake-Server<\/model>\n<\/cpu>/);
  });

  it("check='full' is QEMU's enforce: it refuses to start a model TCG cannot give exactly", async () => {
    await hosts.a.ok('define', withCpu('skx-full', "<cpu mode='custom' match='exact' check='full'><model fallback='forbid'>Skylake-Server</model></cpu>"));
    const r = await hosts.a.ferry('start', 'skx-full');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TCG doesn't support requested features?: CPUID\.07H:EBX\.avx512/);
  });

  it('pre-flight: a running Skylake-Server guest lacks the same features on both TCG hosts (passes, naming them)', async () => {
    await hosts.a.ok(
      'define',
      withCpu('skx', "<cpu mode='custom' match='exact'><model fallback='forbid'>Skylake-Server</model><feature policy='require' name='pku'/></cpu>"),
    );
    await hosts.a.ok('start', 'skx');
    const check = await hosts.a.ferry('migrate-check', 'skx', hosts.bPeer);
    const cpu = row(check.stdout, 'CPU');
    assert.equal(cpu.outcome, 'pass', check.stdout);
    assert.match(cpu.reason, /^model Skylake-Server runs without avx512bw, avx512cd, avx512dq, avx512f, avx512vl, .* under TCG, as on the source$/);
  });
});
