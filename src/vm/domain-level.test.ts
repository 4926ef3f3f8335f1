import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildQemuArgv } from '../qemu/argv.js';
import { parseDomainXml } from './parse-domain-xml.js';
import { renderDomainXml } from './render-domain-xml.js';
import { qemuEnvironment } from './qemu-namespace.js';

const domain = (extra: string, top = "<domain type='qemu'>", os = "<type arch='x86_64' machine='pc-q35-10.0'>hvm</type>"): string =>
  `${top}<name>t</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory>65536</memory><vcpu>1</vcpu><os>${os}</os>${extra}</domain>`;

const argvOf = (xml: string): string[] =>
  buildQemuArgv({ def: parseDomainXml(xml), accel: 'tcg', machine: 'pc-q35-10.0', qmpSocket: '/q', pidfile: '/p', resolveDisk: () => ({ kind: 'empty' }), tapFds: [] });

const roundTrip = (xml: string): void => {
  const d = parseDomainXml(xml);
  assert.deepEqual(parseDomainXml(renderDomainXml(d)), d);
};

const QEMU_NS = "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>";

test('<qemu:commandline>: args appended to argv, env to the environment, kept in dumpxml', () => {
  const xml = domain("<qemu:commandline><qemu:arg value='-unknown'/><qemu:arg value='parameter'/><qemu:env name='NS' value='ns'/><qemu:env name='BAR'/></qemu:commandline>", QEMU_NS);
  roundTrip(xml);
  assert.deepEqual(argvOf(xml).slice(-2), ['-unknown', 'parameter']);
  assert.deepEqual(qemuEnvironment(parseDomainXml(xml).qemuCommandline, { LC_ALL: 'C' }), { LC_ALL: 'C', NS: 'ns', BAR: '' });
  assert.match(renderDomainXml(parseDomainXml(xml)), /<domain type='qemu' xmlns:qemu='http:\/\/libvirt.org\/schemas\/domain\/qemu\/1.0'>/);
  assert.throws(() => parseDomainXml(domain("<qemu:commandline><qemu:arg value='x'/></qemu:commandline>", "<domain type='qemu' xmlns:qemu='urn:other'>")), /must be bound/);
  assert.throws(() => parseDomainXml(domain("<qemu:commandline><qemu:env name='1X' value='a'/></qemu:commandline>", QEMU_NS)), /invalid environment name/);
});

test('<seclabel>: dac dynamic/none and none/none kept; selinux refused', () => {
  for (const s of ["<seclabel type='none' model='none'/>", "<seclabel type='none' model='dac'/>", "<seclabel type='dynamic' model='dac' relabel='yes'/>"]) {
    roundTrip(domain(s));
    assert.ok(renderDomainXml(parseDomainXml(domain(s))).includes(s.replace(" relabel='yes'", " relabel='yes'")));
  }
  assert.throws(() => parseDomainXml(domain("<seclabel type='dynamic' model='selinux' relabel='yes'/>")), /model='selinux'/);
});
