import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDomainXml } from './parse-domain-xml.js';
import { renderDomainXml } from './render-domain-xml.js';

const domain = (head: string): string =>
  `<domain type='qemu'><name>v</name><memory unit='MiB'>256</memory>${head}<os><type arch='x86_64' machine='pc-q35-10.0'>hvm</type></os><devices/></domain>`;

test('<cputune> shares, bandwidth and schedulers and <blkiotune>: parsed, rendered in libvirt order, round trip', () => {
  const def = parseDomainXml(
    domain(`<blkiotune><weight>800</weight><device><path>/dev/sda</path><weight>400</weight><read_bytes_sec>10</read_bytes_sec><write_iops_sec>5</write_iops_sec></device><device><path>/dev/sdb</path><weight>0</weight></device></blkiotune>
    <vcpu>4</vcpu><iothreads>2</iothreads><cputune><shares>0</shares><period>1000000</period><quota>-1</quota><global_quota>0</global_quota><emulator_quota>17592186044415</emulator_quota>
    <vcpupin vcpu='0' cpuset='0'/><vcpusched vcpus='0-1' scheduler='fifo' priority='1'/><vcpusched vcpus='3' scheduler='batch' priority='7'/><iothreadsched iothreads='2' scheduler='idle'/><emulatorsched scheduler='rr' priority='2'/></cputune>`),
  );
  assert.equal(def.cputune?.shares, 0, '<shares>0</shares> is kept (libvirt refuses it at start, not at define)');
  assert.deepEqual(def.cputune?.bandwidth, { vcpu: { period: 1000000, quota: -1 }, emulator: { quota: 17592186044415 } }, 'a 0 quota is unset');
  assert.deepEqual(def.cputune?.vcpuscheds, [
    { ids: '0-1', policy: 'fifo', priority: 1 },
    { ids: '3', policy: 'batch' },
  ]);
  assert.deepEqual(def.cputune?.iothreadscheds, [{ ids: '2', policy: 'idle' }]);
  assert.deepEqual(def.cputune?.emulatorsched, { policy: 'rr', priority: 2 });
  assert.deepEqual(
    def.blkiotune,
    { weight: 800, devices: [{ path: '/dev/sda', weight: 400, readBytesSec: 10, writeIopsSec: 5 }] },
    'a device with nothing set is dropped, as libvirt formats it',
  );
  const xml = renderDomainXml(def);
  assert.match(
    xml,
    /<blkiotune>\s*<weight>800<\/weight>\s*<device>\s*<path>\/dev\/sda<\/path>\s*<weight>400<\/weight>\s*<write_iops_sec>5<\/write_iops_sec>\s*<read_bytes_sec>10<\/read_bytes_sec>/,
  );
  assert.match(
    xml,
    /<cputune>\s*<shares>0<\/shares>\s*<period>1000000<\/period>\s*<quota>-1<\/quota>\s*<emulator_quota>17592186044415<\/emulator_quota>\s*<vcpupin vcpu='0' cpuset='0'\/>\s*<emulatorsched scheduler='rr' priority='2'\/>\s*<vcpusched vcpus='0-1' scheduler='fifo' priority='1'\/>/,
  );
  assert.deepEqual(parseDomainXml(xml), def);
});

test('values libvirt refuses at define are refused with its wording', () => {
  const refused = (head: string, re: RegExp): void =>
    assert.throws(
      () => parseDomainXml(domain(head)),
      (e: Error) => re.test(e.message),
    );
  refused(`<vcpu>1</vcpu><cputune><quota>999</quota></cputune>`, /Value of cputune 'quota' must be in range \[1000, 17592186044415\]/);
  refused(`<vcpu>1</vcpu><cputune><emulator_period>2000000</emulator_period></cputune>`, /Value of cputune 'emulator_period' must be in range/);
  refused(`<vcpu>2</vcpu><cputune><vcpusched vcpus='0-1' scheduler='batch'/><vcpusched vcpus='1' scheduler='idle'/></cputune>`, /must not overlap/);
  refused(`<vcpu>2</vcpu><cputune><vcpusched vcpus='2' scheduler='batch'/></cputune>`, /vcpu '2' of <vcpusched> does not exist/);
  refused(`<vcpu>1</vcpu><cputune><vcpusched vcpus='0' scheduler='fifo'/></cputune>`, /Missing scheduler priority/);
  refused(
    `<vcpu>1</vcpu><iothreads>1</iothreads><cputune><iothreadsched iothreads='2' scheduler='batch'/></cputune>`,
    /iothread '2' of <iothreadsched> does not exist/,
  );
  refused(
    `<blkiotune><device><path>/dev/sda</path><weight>1</weight></device><device><path>/dev/sda</path><weight>2</weight></device></blkiotune><vcpu>1</vcpu>`,
    /duplicate blkio device path '\/dev\/sda'/,
  );
});
