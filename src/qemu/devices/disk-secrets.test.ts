import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { encryptSecret } from '../../host/domain-secrets.js';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { buildQemuArgv } from '../argv.js';
import { domainSecretNeeds } from './disk-secrets.js';

const xml = `<domain type='qemu'><name>s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os>
<devices>
  <disk type='file'><driver name='qemu' type='raw'/><source file='/i/luks.img'><encryption format='luks'><secret type='passphrase' uuid='5f3a8f0e-3b1c-4e57-9d21-7c0c2a1b9e11'/></encryption></source><target dev='vda' bus='virtio'/></disk>
  <disk type='network'><driver name='qemu' type='qcow2'/><auth username='admin'><secret type='ceph' usage='mycluster'/></auth><source protocol='rbd' name='pool/image'><host name='mon1'/></source><target dev='vdb' bus='virtio'/>
    <encryption format='luks'><secret type='passphrase' usage='/x'/></encryption></disk>
  <disk type='network' device='cdrom'><driver name='qemu' type='raw'/><source protocol='https' name='a.iso'><host name='example.org'/><auth username='u'><secret type='iscsi' uuid='5f3a8f0e-3b1c-4e57-9d21-7c0c2a1b9e12'/></auth><cookies><cookie name='c1'>v1</cookie><cookie name='c2'>v2</cookie></cookies></source><target dev='sda' bus='sata'/><readonly/></disk>
</devices></domain>`;

describe('disk secrets', () => {
  it('<auth>, <encryption> and <cookies> survive dumpxml, each where it was written', () => {
    const def = parseDomainXml(xml);
    assert.deepEqual(parseDomainXml(renderDomainXml(def)), def);
    assert.equal(def.devices.disks[1]?.auth?.inDisk, true);
    assert.equal(def.devices.disks[1]?.encryption?.inDisk, true);
    assert.equal(def.devices.disks[0]?.encryption?.inDisk, undefined);
  });

  it('QEMU gets each secret as an encrypted secret object that its block node names, as libvirt builds them', () => {
    const def = parseDomainXml(xml);
    const needs = domainSecretNeeds(def);
    assert.deepEqual(
      needs.map((n) => n.id),
      ['fmt-vda-encryption-secret0', 'file-vdb-auth-secret0', 'fmt-vdb-encryption-secret0', 'file-sda-auth-secret0', 'file-sda-httpcookie-secret0'],
    );
    assert.equal(needs.find((n) => n.what === 'cookies')?.value, 'c1=v1; c2=v2');
    const argv = buildQemuArgv({
      def,
      accel: 'tcg',
      machine: 'pc-q35-10.0',
      qmpSocket: '/q',
      pidfile: '/p',
      tapFds: [],
      resolveDisk: (d) => (d.type === 'network' ? { kind: 'network', disk: d } : { kind: 'file', path: d.source.file ?? '' }),
      secrets: { masterKeyPath: '/run/k.aes', values: new Map(needs.map((n) => [n.id, { data: 'DATA', iv: 'IV' }])) },
    });
    const line = argv.join(' ');
    assert.ok(argv.includes('secret,id=masterKey0,format=raw,file=/run/k.aes'));
    assert.ok(argv.includes('secret,id=fmt-vda-encryption-secret0,data=DATA,keyid=masterKey0,iv=IV,format=base64'));
    assert.match(line, /\{"driver":"luks","key-secret":"fmt-vda-encryption-secret0","file":"file-vda"/);
    assert.match(line, /"user":"admin","auth-client-required":\["cephx","none"\],"key-secret":"file-vdb-auth-secret0"/);
    assert.match(line, /"driver":"qcow2","encrypt":\{"format":"luks","key-secret":"fmt-vdb-encryption-secret0"\}/);
    assert.match(line, /"username":"u","password-secret":"file-sda-auth-secret0","cookie-secret":"file-sda-httpcookie-secret0"/);
    assert.throws(() =>
      buildQemuArgv({ def, accel: 'tcg', machine: 'pc-q35-10.0', qmpSocket: '/q', pidfile: '/p', tapFds: [], resolveDisk: () => ({ kind: 'empty' }) }),
    );
  });

  it("an http(s) backing layer's cookies are its own secret object; dumpxml without --security-info leaves every cookie value out", () => {
    const chain = xml.replace(
      '</devices>',
      `<disk type='network'><driver name='qemu' type='qcow2'/><source protocol='https' name='top.qcow2'><host name='a.example'/><cookies><cookie name='t'>top</cookie></cookies></source>
      <backingStore type='network'><format type='qcow2'/><source protocol='http' name='base.qcow2'><host name='b.example' port='8080'/><cookies><cookie name='b1'>one</cookie><cookie name='b2'>two</cookie></cookies></source></backingStore>
      <target dev='vdd' bus='virtio'/><readonly/></disk></devices>`,
    );
    const def = parseDomainXml(chain);
    assert.deepEqual(parseDomainXml(renderDomainXml(def)), def);
    const needs = domainSecretNeeds(def).filter((n) => n.disk === 'vdd');
    assert.deepEqual(
      needs.map((n) => [n.id, n.value]),
      [
        ['file-vdd-httpcookie-secret0', 't=top'],
        ['file-vdd-b1-httpcookie-secret0', 'b1=one; b2=two'],
      ],
    );
    const argv = buildQemuArgv({
      def,
      accel: 'tcg',
      machine: 'pc-q35-10.0',
      qmpSocket: '/q',
      pidfile: '/p',
      tapFds: [],
      resolveDisk: (d) => (d.type === 'network' ? { kind: 'network', disk: d } : { kind: 'file', path: d.source.file ?? '' }),
      secrets: { masterKeyPath: '/run/k.aes', values: new Map(domainSecretNeeds(def).map((n) => [n.id, { data: 'DATA', iv: 'IV' }])) },
    }).join(' ');
    assert.match(
      argv,
      /\{"driver":"http","url":"http:\/\/b\.example:8080\/base\.qcow2","cookie-secret":"file-vdd-b1-httpcookie-secret0","node-name":"file-vdd-b1"/,
    );
    assert.ok(argv.includes('secret,id=file-vdd-b1-httpcookie-secret0,data=DATA'));
    assert.doesNotMatch(argv, /b1=|top;|t=top/, 'no cookie on the command line');
    const plain = renderDomainXml(def, { secrets: false });
    assert.doesNotMatch(plain, /<cookies>|<cookie /);
    assert.match(renderDomainXml(def, { secrets: true }), /<cookie name='b2'>two<\/cookie>/);
    assert.throws(
      () =>
        parseDomainXml(
          chain.replace(
            "<backingStore type='network'><format type='qcow2'/><source protocol='http'",
            "<backingStore type='network'><format type='qcow2'/><source protocol='nbd'",
          ),
        ),
      /<cookies> are for http and https sources only/,
    );
  });

  it('a secret is AES-256-CBC under the master key with a fresh IV (what QEMU decrypts with keyid=)', () => {
    const key = randomBytes(32);
    const e = encryptSecret(key, Buffer.from('pass phrase'));
    const d = createDecipheriv('aes-256-cbc', key, Buffer.from(e.iv, 'base64'));
    assert.equal(Buffer.concat([d.update(Buffer.from(e.data, 'base64')), d.final()]).toString(), 'pass phrase');
    assert.notEqual(encryptSecret(key, Buffer.from('pass phrase')).iv, e.iv);
  });

  it('refuses what QEMU cannot honour: two passphrases, auth on a file disk, cookies on nbd', () => {
    assert.throws(
      () =>
        parseDomainXml(xml.replace("<secret type='passphrase' usage='/x'/>", "<secret type='passphrase' usage='/x'/><secret type='passphrase' usage='/y'/>")),
      /one passphrase/,
    );
    assert.throws(
      () => parseDomainXml(xml.replace("<source file='/i/luks.img'>", "<auth username='a'><secret type='ceph' usage='u'/></auth><source file='/i/luks.img'>")),
      /<auth> is for rbd/,
    );
  });
});
