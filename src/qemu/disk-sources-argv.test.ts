import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml } from '../vm/render-domain-xml.js';
import { buildQemuArgv } from './argv.js';

const domain = (devices: string): string => `<domain type='kvm'><name>d</name><memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>${devices}</devices></domain>`;

function argv(xml: string): string[] {
  const def = parseDomainXml(xml);
  assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
  return buildQemuArgv({
    def,
    accel: 'tcg',
    machine: 'pc',
    qmpSocket: '/q',
    pidfile: '/p',
    tapFds: [],
    resolveDisk: (d) =>
      d.type === 'network'
        ? { kind: 'network', disk: d }
        : d.source.file
          ? { kind: 'file', path: d.source.file }
          : { kind: 'block', path: d.source.dev as string },
  });
}
const json = (args: string[], flag: string): Array<Record<string, unknown>> =>
  args.flatMap((a, i) => (a === flag ? [JSON.parse(args[i + 1] as string) as Record<string, unknown>] : []));
/** A node without the names and cache settings, which are ferry's own (libvirt names nodes libvirt-N-storage). */
const strip = (n: Record<string, unknown> | undefined): Record<string, unknown> => {
  const { 'node-name': _n, cache: _c, 'read-only': _r, file: _f, ...rest } = n ?? {};
  return rest;
};

describe('disk sources on the command line, as libvirt 11 builds them (tests/qemuxmlconfdata .args)', () => {
  it('http/https/ftp through the curl driver: url with query, timeout, readahead, sslverify', () => {
    const args = argv(
      domain(`
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='http' name='test.img'><host name='example.org' port='80'/><timeout seconds='1234'/></source><target dev='vda' bus='virtio'/><readonly/></disk>
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='https' name='test2.img'><host name='example.org' port='443'/><readahead size='1024'/></source><target dev='vdb' bus='virtio'/><readonly/></disk>
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='https' name='test4.img' query='par=val&amp;other=ble'><host name='example.org' port='1234'/><ssl verify='no'/></source><target dev='vdc' bus='virtio'/><readonly/></disk>
      <disk type='network' device='cdrom'><driver name='qemu' type='raw'/><source protocol='ftp' name='/url/path/file.iso'><host name='host.name' port='21'/></source><target dev='hdc' bus='ide'/><readonly/></disk>`),
    );
    const nodes = json(args, '-blockdev');
    assert.deepEqual(strip(nodes.find((n) => n['node-name'] === 'file-vda')), { driver: 'http', url: 'http://example.org:80/test.img', timeout: 1234 });
    assert.deepEqual(strip(nodes.find((n) => n['node-name'] === 'file-vdb')), { driver: 'https', url: 'https://example.org:443/test2.img', readahead: 1024 });
    assert.deepEqual(strip(nodes.find((n) => n['node-name'] === 'file-vdc')), {
      driver: 'https',
      url: 'https://example.org:1234/test4.img?par=val&other=ble',
      sslverify: false,
    });
    assert.deepEqual(strip(nodes.find((n) => n['node-name'] === 'file-hdc')), { driver: 'ftp', url: 'ftp://host.name:21/url/path/file.iso' });
  });

  it('refuses a writable curl disk (QEMU cannot write one) and curl options on other protocols', () => {
    assert.throws(
      () =>
        argv(domain(`<disk type='network' device='disk'><source protocol='http' name='a'><host name='h'/></source><target dev='vda' bus='virtio'/></disk>`)),
      /add <readonly\/>/,
    );
    assert.throws(
      () =>
        argv(
          domain(
            `<disk type='network' device='disk'><source protocol='nbd'><host name='h'/><timeout seconds='3'/></source><target dev='vda' bus='virtio'/></disk>`,
          ),
        ),
      /<timeout> is for http/,
    );
  });

  it('nbd with reconnect-delay; rbd with its pool, image and monitors', () => {
    const args = argv(
      domain(`
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='foo'><host name='example.org' port='6000'/><reconnect delay='10'/></source><target dev='vda' bus='virtio'/></disk>
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='poolname/imagename:rbd_cache=1'><host name='mon1.example.org' port='6321'/><host name='mon2.example.org' port='6322'/></source><target dev='vdb' bus='virtio'/></disk>
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='pool/ns/image@snap'><host name='mon1.example.org'/></source><target dev='vdc' bus='virtio'/></disk>`),
    );
    const nodes = json(args, '-blockdev');
    assert.deepEqual(strip(nodes.find((n) => n['node-name'] === 'file-vda')), {
      driver: 'nbd',
      server: { type: 'inet', host: 'example.org', port: '6000' },
      export: 'foo',
      'reconnect-delay': 10,
    });
    assert.deepEqual(strip(nodes.find((n) => n['node-name'] === 'file-vdb')), {
      driver: 'rbd',
      pool: 'poolname',
      image: 'imagename:rbd_cache=1',
      server: [
        { host: 'mon1.example.org', port: '6321' },
        { host: 'mon2.example.org', port: '6322' },
      ],
    });
    assert.deepEqual(strip(nodes.find((n) => n['node-name'] === 'file-vdc')), {
      driver: 'rbd',
      pool: 'pool',
      namespace: 'ns',
      image: 'image',
      snapshot: 'snap',
      server: [{ host: 'mon1.example.org' }],
    });
  });

  it('<backingStore>: each layer a read-only node pair backing the one above; <backingStore/> is backing null', () => {
    const args = argv(
      domain(`
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/tmp/snap'/>
        <backingStore type='block'><format type='qcow2'/><source dev='/dev/base'/>
          <backingStore type='network'><format type='raw'/><source protocol='nbd' name='bottom'><host name='nbd.example.org'/></source><backingStore/></backingStore>
        </backingStore><target dev='hda' bus='ide'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/tmp/alone'/><backingStore/><target dev='hdb' bus='ide'/></disk>`),
    );
    const nodes = json(args, '-blockdev');
    const order = nodes.map((n) => n['node-name']);
    assert.deepEqual(order.slice(0, 6), ['file-hda-b2', 'fmt-hda-b2', 'file-hda-b1', 'fmt-hda-b1', 'file-hda', 'fmt-hda'], 'bottom layer first');
    const byName = new Map(nodes.map((n) => [n['node-name'], n]));
    assert.equal(byName.get('fmt-hda')?.backing, 'fmt-hda-b1');
    assert.equal(byName.get('fmt-hda-b1')?.backing, 'fmt-hda-b2');
    assert.equal('backing' in (byName.get('fmt-hda-b2') ?? {}), false, 'raw has no backing');
    assert.deepEqual(
      [byName.get('file-hda-b1')?.['read-only'], byName.get('fmt-hda-b1')?.['read-only'], byName.get('fmt-hda-b2')?.['read-only']],
      [true, true, true],
    );
    assert.deepEqual(strip(byName.get('file-hda-b1')), { driver: 'host_device', filename: '/dev/base' });
    assert.deepEqual(strip(byName.get('file-hda-b2')), { driver: 'nbd', server: { type: 'inet', host: 'nbd.example.org', port: '10809' }, export: 'bottom' });
    assert.equal(byName.get('fmt-hdb')?.backing, null);
    assert.throws(
      () =>
        argv(
          domain(
            `<disk type='file'><driver name='qemu' type='raw'/><source file='/x'/><backingStore type='file'><format type='raw'/><source file='/y'/></backingStore><target dev='vda'/></disk>`,
          ),
        ),
      /a raw image has no backing store/,
    );
  });

  it('<iotune>: a throttle-group object per group (shared by group_name) and a throttle node the device reads', () => {
    const limits =
      '<total_bytes_sec>5000</total_bytes_sec><total_iops_sec>6000</total_iops_sec><total_bytes_sec_max>10000</total_bytes_sec_max><total_bytes_sec_max_length>3</total_bytes_sec_max_length>';
    const args = argv(
      domain(`
      <disk type='file'><driver name='qemu' type='raw'/><source file='/a'/><target dev='hda' bus='ide'/><iotune>${limits}<group_name>g1</group_name></iotune></disk>
      <disk type='file'><driver name='qemu' type='raw'/><source file='/b'/><target dev='hdb' bus='ide'/><iotune>${limits}<group_name>g1</group_name></iotune></disk>
      <disk type='file'><driver name='qemu' type='raw'/><source file='/c'/><target dev='hdc' bus='ide'/><iotune><read_iops_sec>7</read_iops_sec><size_iops_sec>2000</size_iops_sec></iotune></disk>`),
    );
    assert.deepEqual(json(args, '-object'), [
      { 'qom-type': 'throttle-group', id: 'throttle-g1', limits: { 'bps-total': 5000, 'iops-total': 6000, 'bps-total-max': 10000, 'bps-total-max-length': 3 } },
      { 'qom-type': 'throttle-group', id: 'throttle-disk-hdc', limits: { 'iops-read': 7, 'iops-size': 2000 } },
    ]);
    const nodes = json(args, '-blockdev');
    assert.deepEqual(
      nodes.find((n) => n['node-name'] === 'thr-hdb'),
      { driver: 'throttle', 'node-name': 'thr-hdb', 'throttle-group': 'throttle-g1', file: 'fmt-hdb' },
    );
    assert.match(args.find((a) => a.startsWith('ide-hd,') && a.includes('id=disk-hdc')) ?? '', /drive=thr-hdc/);
    assert.throws(
      () =>
        argv(
          domain(`
      <disk type='file'><source file='/a'/><target dev='hda' bus='ide'/><iotune><total_iops_sec>1</total_iops_sec><group_name>g</group_name></iotune></disk>
      <disk type='file'><source file='/b'/><target dev='hdb' bus='ide'/><iotune><total_iops_sec>2</total_iops_sec><group_name>g</group_name></iotune></disk>`),
        ),
      /group_name 'g' is shared with disk 'hda' but its limits differ/,
    );
    assert.throws(
      () =>
        argv(
          domain(
            `<disk type='file'><source file='/a'/><target dev='hda' bus='ide'/><iotune><total_bytes_sec>1</total_bytes_sec><read_bytes_sec>1</read_bytes_sec></iotune></disk>`,
          ),
        ),
      /cannot be set at the same time/,
    );
  });

  it('<geometry>, <metadata_cache> (also of a backing layer) and discard_no_unref', () => {
    const args = argv(
      domain(`
      <disk type='file'><driver name='qemu' type='qcow2' discard_no_unref='on'><metadata_cache><max_size unit='bytes'>12345</max_size></metadata_cache></driver><source file='/a'/>
        <backingStore type='file'><format type='qcow2'><metadata_cache><max_size unit='KiB'>1024</max_size></metadata_cache></format><source file='/b'/><backingStore/></backingStore>
        <target dev='hda' bus='ide'/><geometry cyls='16383' heads='16' secs='63' trans='lba'/></disk>`),
    );
    const nodes = new Map(json(args, '-blockdev').map((n) => [n['node-name'], n]));
    assert.equal(nodes.get('fmt-hda')?.['cache-size'], 12345);
    assert.equal(nodes.get('fmt-hda')?.['discard-no-unref'], true);
    assert.equal(nodes.get('fmt-hda-b1')?.['cache-size'], 1048576);
    assert.match(args.find((a) => a.startsWith('ide-hd,')) ?? '', /cyls=16383,heads=16,secs=63,bios-chs-trans=lba/);
    assert.throws(
      () => argv(domain(`<disk type='file'><driver name='qemu' type='raw' discard_no_unref='on'/><source file='/a'/><target dev='hda' bus='ide'/></disk>`)),
      /qcow2 images only/,
    );
    assert.throws(
      () => argv(domain(`<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/><geometry cyls='1' heads='1' secs='1' trans='lba'/></disk>`)),
      /BIOS translation/,
    );
  });

  it('<throttlegroups> and <throttlefilters>: a group object each, filters stacked in order', () => {
    const xml = domain(`
      <disk type='file'><driver name='qemu' type='raw'/><source file='/a'/><target dev='hda' bus='ide'/><throttlefilters><throttlefilter group='limit1'/><throttlefilter group='limit12'/></throttlefilters></disk>`).replace(
      '<os>',
      `<throttlegroups><throttlegroup><read_bytes_sec>5000</read_bytes_sec><group_name>limit1</group_name></throttlegroup><throttlegroup><total_iops_sec>7000</total_iops_sec><group_name>limit12</group_name></throttlegroup></throttlegroups><os>`,
    );
    const args = argv(xml);
    assert.deepEqual(json(args, '-object'), [
      { 'qom-type': 'throttle-group', id: 'throttle-limit1', limits: { 'bps-read': 5000 } },
      { 'qom-type': 'throttle-group', id: 'throttle-limit12', limits: { 'iops-total': 7000 } },
    ]);
    const nodes = json(args, '-blockdev').filter((n) => n.driver === 'throttle');
    assert.deepEqual(nodes, [
      { driver: 'throttle', 'node-name': 'thr-hda-1', 'throttle-group': 'throttle-limit1', file: 'fmt-hda' },
      { driver: 'throttle', 'node-name': 'thr-hda-2', 'throttle-group': 'throttle-limit12', file: 'thr-hda-1' },
    ]);
    assert.match(args.find((a) => a.startsWith('ide-hd,')) ?? '', /drive=thr-hda-2/);
    assert.throws(
      () =>
        argv(
          domain(`<disk type='file'><source file='/a'/><target dev='hda' bus='ide'/><throttlefilters><throttlefilter group='nope'/></throttlefilters></disk>`),
        ),
      /throttle group 'nope' is not defined/,
    );
  });

  it('<vendor>/<product>: scsi vendor and product, the model of an ide/sata disk', () => {
    const args = argv(
      domain(`
      <controller type='scsi' model='virtio-scsi'/>
      <disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/><vendor>SEA GATE</vendor><product>ST67 807GD</product></disk>
      <disk type='file'><source file='/b'/><target dev='hda' bus='ide'/><product>WD10EZEX-00BN5A0</product></disk>`),
    );
    assert.match(args.find((a) => a.startsWith('scsi-hd,')) ?? '', /vendor=SEA GATE,product=ST67 807GD/);
    assert.match(args.find((a) => a.startsWith('ide-hd,')) ?? '', /model=WD10EZEX-00BN5A0/);
    assert.throws(
      () => argv(domain(`<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/><vendor>X</vendor></disk>`)),
      /only scsi disks have a vendor/,
    );
  });

  it("ssh through QEMU's ssh driver: path, server, user, and the <knownHosts> key as host-key-check hash (no key file, no password)", () => {
    const ssh = (extra: string): string =>
      domain(
        `<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='ssh' name='/img/test.img'><host name='example.org' port='2222'/>${extra}</source><target dev='vda' bus='virtio'/></disk>`,
      );
    const node = (xml: string, hash?: string): Record<string, unknown> => {
      const def = parseDomainXml(xml);
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
      const args = buildQemuArgv({
        def,
        accel: 'tcg',
        machine: 'pc',
        qmpSocket: '/q',
        pidfile: '/p',
        tapFds: [],
        resolveDisk: (d) => ({ kind: 'network', disk: d, ...(hash ? { sshHostKey: hash } : {}) }),
      });
      return strip(json(args, '-blockdev').find((n) => n.driver === 'ssh'));
    };
    assert.deepEqual(node(ssh('')), { driver: 'ssh', path: '/img/test.img', server: { host: 'example.org', port: '2222' } });
    assert.deepEqual(node(ssh("<knownHosts path='/etc/kh'/><identity username='me' agentsock='/run/agent.sock'/>"), 'ab12'), {
      driver: 'ssh',
      path: '/img/test.img',
      server: { host: 'example.org', port: '2222' },
      user: 'me',
      'host-key-check': { mode: 'hash', type: 'sha256', hash: 'ab12' },
    });
    assert.throws(() => parseDomainXml(ssh("<identity username='me' keyfile='/k'/>")), /keyfile/);
    assert.throws(() => parseDomainXml(ssh("<auth username='me'><secret type='iscsi' usage='u'/></auth>")), /not protocol 'ssh'/);
    assert.throws(
      () =>
        parseDomainXml(
          ssh('')
            .replace(
              '</disk>',
              "</disk><disk type='network' device='disk'><source protocol='ssh' name='b'><host name='h'/><identity agentsock='/a2'/></source><target dev='vdb' bus='virtio'/></disk>",
            )
            .replace("<host name='example.org' port='2222'/>", "<host name='example.org' port='2222'/><identity agentsock='/a1'/>"),
        ),
      /share one ssh-agent/,
    );
  });
});
