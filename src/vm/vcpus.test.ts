import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { buildQemuArgv } from '../qemu/argv.js';
import { formatCpuset, parseCpuset } from './cpuset.js';
import type { DomainDefinition } from './definition.js';
import { parseDomainXml } from './parse-domain-xml.js';
import { renderDomainXml } from './render-domain-xml.js';
import { vcpuSlot } from './vcpus.js';

const domain = (head: string, cpu = ''): string =>
  `<domain type='qemu'><name>v</name><memory unit='MiB'>256</memory>${head}<os><type arch='x86_64' machine='pc-q35-10.0'>hvm</type></os>${cpu}<devices/></domain>`;

function argvOf(def: DomainDefinition): string[] {
  return buildQemuArgv({ def, accel: 'tcg', machine: 'pc-q35-10.0', qmpSocket: '/q', pidfile: '/p', resolveDisk: () => ({ kind: 'empty' }), tapFds: [] });
}
const after = (argv: string[], flag: string): string[] => argv.flatMap((a, i) => (argv[i - 1] === flag ? [a] : []));

function refuses(xml: string, pattern: RegExp): void {
  assert.throws(
    () => parseDomainXml(xml),
    (err: unknown) => err instanceof FerryError && pattern.test(err.message + JSON.stringify(err.details ?? {})),
  );
}

describe('vCPUs in the definition', () => {
  it('reads cpusets as libvirt does and writes them back canonical', () => {
    assert.deepEqual(parseCpuset('0-3,^2', 'vcpu'), [0, 1, 3]);
    assert.equal(formatCpuset([3, 0, 1, 5, 6, 7]), '0-1,3,5-7');
    assert.throws(() => parseCpuset('1,^1', 'vcpu'), /names no CPU/);
    assert.throws(() => parseCpuset('a-b', 'vcpu'), /invalid cpuset/);
  });

  it('keeps current, cpuset, <vcpus> and <cputune> pins through dumpxml', () => {
    const xml = domain(
      `<vcpu placement='static' cpuset='0-3,^2' current='2'>4</vcpu><vcpus><vcpu id='0' enabled='yes' hotpluggable='no' order='1'/><vcpu id='1' enabled='no' hotpluggable='yes'/><vcpu id='2' enabled='no' hotpluggable='yes'/><vcpu id='3' enabled='yes' hotpluggable='yes' order='2'/></vcpus>` +
        `<cputune><vcpupin vcpu='1' cpuset='1'/><emulatorpin cpuset='0'/></cputune>`,
    );
    const def = parseDomainXml(xml);
    assert.equal(def.vcpus, 4);
    assert.equal(def.vcpuCurrent, 2);
    assert.equal(def.vcpuCpuset, '0-1,3');
    assert.deepEqual(def.cputune, { vcpupins: [{ vcpu: 1, cpuset: '1' }], emulatorpin: '0' });
    const out = renderDomainXml(def);
    assert.match(out, /<vcpu placement='static' cpuset='0-1,3' current='2'>4<\/vcpu>/);
    assert.match(out, /<vcpu id='3' enabled='yes' hotpluggable='yes' order='2'\/>/);
    assert.deepEqual(parseDomainXml(out), def);
  });

  it('boots the online vCPUs with -smp and hot-plugs the rest of the online ones as -device CPUs with their slots', () => {
    const def = parseDomainXml(
      domain(
        `<vcpu current='3'>6</vcpu><vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/><vcpu id='1' enabled='no' hotpluggable='yes'/><vcpu id='2' enabled='no' hotpluggable='yes'/><vcpu id='3' enabled='no' hotpluggable='yes'/><vcpu id='4' enabled='yes' hotpluggable='yes' order='3'/><vcpu id='5' enabled='yes' hotpluggable='yes' order='2'/></vcpus>`,
        `<cpu mode='custom' match='exact'><model>qemu64</model><topology sockets='3' dies='1' clusters='1' cores='2' threads='1'/></cpu>`,
      ),
    );
    const argv = argvOf(def);
    assert.deepEqual(after(argv, '-smp'), ['1,maxcpus=6,sockets=3,dies=1,clusters=1,cores=2,threads=1']);
    assert.deepEqual(
      after(argv, '-device').filter((d) => d.includes('x86_64-cpu')),
      ['qemu64-x86_64-cpu,id=vcpu5,socket-id=2,core-id=1,thread-id=0', 'qemu64-x86_64-cpu,id=vcpu4,socket-id=2,core-id=0,thread-id=0'],
    );
    // Without <vcpus>: the first `current` boot, the rest wait to be hot-plugged; libvirt's default topology (a socket each).
    const plain = parseDomainXml(domain(`<vcpu current='1'>2</vcpu>`));
    assert.deepEqual(after(argvOf(plain), '-smp'), ['1,maxcpus=2,sockets=2,cores=1,threads=1']);
    assert.deepEqual(vcpuSlot(plain, 1), { 'socket-id': 1, 'core-id': 0, 'thread-id': 0 });
    assert.deepEqual(after(argvOf(parseDomainXml(domain(`<vcpu>2</vcpu>`))), '-smp'), ['2']);
  });

  it('counts a vCPU slot threads first, then cores, dies and sockets', () => {
    const def = parseDomainXml(domain(`<vcpu>16</vcpu>`, `<cpu><topology sockets='2' dies='2' cores='2' threads='2'/></cpu>`));
    assert.deepEqual(vcpuSlot(def, 0), { 'socket-id': 0, 'die-id': 0, 'core-id': 0, 'thread-id': 0 });
    assert.deepEqual(vcpuSlot(def, 7), { 'socket-id': 0, 'die-id': 1, 'core-id': 1, 'thread-id': 1 });
    assert.deepEqual(vcpuSlot(def, 13), { 'socket-id': 1, 'die-id': 1, 'core-id': 0, 'thread-id': 1 });
  });

  it('refuses what QEMU or ferry cannot run, naming it', () => {
    refuses(domain(`<vcpu current='3'>2</vcpu>`), /maxvcpus must not be less than current vcpus/);
    refuses(domain(`<vcpu placement='numad'>2</vcpu>`), /placement='numad'/);
    refuses(domain(`<vcpu>2</vcpu><cputune><period>500</period></cputune>`), /Value of cputune 'period' must be in range \[1000, 1000000\]/);
    refuses(domain(`<vcpu>2</vcpu><cputune><vcpupin vcpu='2' cpuset='0'/></cputune>`), /out of range/);
    refuses(
      domain(`<vcpu current='1'>2</vcpu><vcpus><vcpu id='0' enabled='yes' hotpluggable='yes'/><vcpu id='1' enabled='no' hotpluggable='yes'/></vcpus>`),
      /can't be hotpluggable/,
    );
    refuses(domain(`<vcpu>4</vcpu>`, `<cpu><topology sockets='1' clusters='2' cores='2' threads='1'/></cpu>`), /clusters='2'/);
    refuses(domain(`<vcpu>1</vcpu>`, `<cpu mode='custom'><model>qemu64</model><cache mode='passthrough'/></cpu>`), /passthrough/);
    refuses(domain(`<vcpu>1</vcpu>`, `<cpu><vendor>Intel</vendor></cpu>`), /<vendor> in <cpu>/);
  });
});

describe('<cpu> model settings', () => {
  it('keeps match, vendor_id, clusters and cache, and puts them on -cpu as libvirt does', () => {
    const def = parseDomainXml(
      domain(
        `<vcpu>2</vcpu>`,
        `<cpu mode='host-passthrough' match='exact' migratable='on'><model vendor_id='GenuineIntel'/><topology sockets='2' dies='1' clusters='1' cores='1' threads='1'/><cache level='3' mode='emulate'/></cpu>`,
      ),
    );
    assert.equal(def.cpu?.match, 'exact');
    const out = renderDomainXml(def);
    assert.match(out, /<cpu mode='host-passthrough' match='exact' migratable='on'>/);
    assert.match(out, /<model vendor_id='GenuineIntel'\/>/);
    assert.match(out, /clusters='1'/);
    assert.match(out, /<cache level='3' mode='emulate'\/>/);
    assert.deepEqual(parseDomainXml(out), def);
    assert.deepEqual(after(argvOf(def), '-cpu'), ['max,vendor=GenuineIntel,l3-cache=on,host-cache-info=off']);
    const off = parseDomainXml(domain('', `<cpu mode='custom' match='minimum'><model>qemu64</model><cache mode='disable'/></cpu>`));
    assert.deepEqual(after(argvOf(off), '-cpu'), ['qemu64,l3-cache=off']);
  });
});
