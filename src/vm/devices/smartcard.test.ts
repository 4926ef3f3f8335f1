import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { liveDefinition, portableDefinition } from '../../host/live-definition.js';
import { checkSmartcardDatabases, nssDatabaseProblem } from '../../host/smartcard-databases.js';
import { qemuFilesOf } from '../../host/qemu-files.js';
import { charDeviceArgs } from '../../qemu/devices/char-devices.js';
import { controllerArgs } from '../../qemu/devices/controllers.js';
import { parseDomainXml } from '../parse-domain-xml.js';
import { renderDomainXml } from '../render-domain-xml.js';
import { smartcardDatabaseCheck } from '../../preflight/destination-checks.js';
import { smartcardDatabases } from './smartcard.js';

const FIXTURES = new URL('../../../../test/fixtures/libvirt-qemuxml/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(`${name}.x86_64-latest.xml`, FIXTURES), 'utf8');

/** libvirt's -device arguments whose JSON matches `pick`, in QEMU's key=value form. */
function libvirtDevices(name: string, pick: RegExp): string[] {
  const text = readFileSync(new URL(`${name}.x86_64-latest.args`, FIXTURES), 'utf8').replace(/ \\\n/g, ' ');
  return [...text.matchAll(/-device '(\{[^']*\})'/g)].flatMap((m) => {
    if (!pick.test(m[1] as string)) return [];
    const { driver, ...props } = JSON.parse(m[1] as string) as Record<string, unknown>;
    return ['-device', [String(driver), ...Object.entries(props).map(([k, v]) => `${k}=${String(v)}`)].join(',')];
  });
}

const input = { machine: 'pc-i440fx-10.0', serialLog: () => '/l', tapName: () => 't', networkBridge: () => 'br', channelSocket: () => '/c', graphicsPorts: [] };
const domain = (devices: string): string =>
  `<domain type='qemu'><name>s</name><memory unit='MiB'>64</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>${devices}</devices></domain>`;

describe("<smartcard mode='host-certificates'>: definition and argv against libvirt's .args", () => {
  for (const name of ['smartcard-host-certificates', 'smartcard-host-certificates-database']) {
    it(`${name}: usb-ccid and ccid-card-emulated (backend=certificates, cert1..3, db) as libvirt`, () => {
      const def = parseDomainXml(fixture(name));
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
      const live = liveDefinition(def, input);
      const ours = [...controllerArgs(live, false), ...charDeviceArgs(live, false)];
      const pick = (driver: string): string[] => ours.flatMap((a, i) => (a.startsWith(`${driver},`) ? [ours[i - 1] as string, a] : []));
      assert.deepEqual([...pick('usb-ccid'), ...pick('ccid-card-emulated')], libvirtDevices(name, /usb-ccid|ccid-card-emulated/));
      assert.deepEqual(portableDefinition(live, input).devices.smartcards, def.devices.smartcards, 'the definition travels as defined');
    });
  }

  it('renders as libvirt: three <certificate>, <database> only when given; a comma in a nickname is doubled for QEMU', () => {
    const def = parseDomainXml(
      domain("<smartcard mode='host-certificates'><certificate>a,b</certificate><certificate>c</certificate><certificate>d</certificate></smartcard>"),
    );
    const xml = renderDomainXml(def);
    assert.match(
      xml,
      /<smartcard mode='host-certificates'>\s*<certificate>a,b<\/certificate>\s*<certificate>c<\/certificate>\s*<certificate>d<\/certificate>\s*<address type='ccid' controller='0' slot='0'\/>/,
    );
    assert.doesNotMatch(xml, /<database>/);
    const live = liveDefinition(def, input);
    assert.ok(
      charDeviceArgs(live, false).includes('ccid-card-emulated,backend=certificates,cert1=a,,b,cert2=c,cert3=d,db=/etc/pki/nssdb,id=smartcard0,bus=ccid0.0'),
    );
  });

  it('QEMU is granted the database files read-only (the directory is only passed through)', () => {
    const def = parseDomainXml(
      domain(
        "<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate><certificate>c</certificate><database>/srv/nss</database></smartcard>",
      ),
    );
    const files = qemuFilesOf(def, () => ({ kind: 'file', path: '/x' }) as never).filter((f) => f.path.startsWith('/srv/nss'));
    assert.deepEqual(
      files.map((f) => [f.path, f.access]),
      ['cert9.db', 'key4.db', 'pkcs11.txt', 'cert8.db', 'key3.db', 'secmod.db'].map((f) => [`/srv/nss/${f}`, 'r']),
    );
  });
});

describe("<smartcard mode='host-certificates'>: what ferry refuses, in libvirt's words", () => {
  const refused = (devices: string, code: string, message: RegExp): void => {
    assert.throws(
      () => parseDomainXml(domain(devices)),
      (e: Error & { code?: string }) => e.code === code && message.test(e.message),
      message.source,
    );
  };
  it('not three certificates, an empty one, a relative database, a type=', () => {
    refused(
      "<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate></smartcard>",
      'XML_INVALID',
      /host-certificates mode needs exactly 3 certificates/,
    );
    refused(
      "<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate><certificate>c</certificate><certificate>d</certificate></smartcard>",
      'XML_INVALID',
      /needs exactly 3 certificates .*has 4/,
    );
    refused(
      "<smartcard mode='host-certificates'><certificate>a</certificate><certificate> </certificate><certificate>c</certificate></smartcard>",
      'XML_INVALID',
      /<certificate> is empty/,
    );
    refused(
      "<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate><certificate>c</certificate><database>nss</database></smartcard>",
      'XML_INVALID',
      /expecting absolute path: 'nss'/,
    );
    refused(
      "<smartcard mode='host-certificates' type='unix'><certificate>a</certificate><certificate>b</certificate><certificate>c</certificate></smartcard>",
      'XML_INVALID',
      /type='unix' is for mode='passthrough' only/,
    );
  });
  it("a second host-certificates card (QEMU would give it the first one's certificates)", () => {
    const three = '<certificate>a</certificate><certificate>b</certificate><certificate>c</certificate>';
    refused(
      `<controller type='ccid' index='1'/><smartcard mode='host-certificates'>${three}</smartcard><smartcard mode='host-certificates'>${three}<address type='ccid' controller='1' slot='0'/></smartcard>`,
      'XML_UNSUPPORTED',
      /<smartcard mode='host-certificates'> #1: a second mode='host-certificates' card: QEMU sets its card emulator \(libcacard\) up once/,
    );
  });
  it("mode='host' (the host's reader) stays refused, with what to use instead", () => {
    refused("<smartcard mode='host'/>", 'XML_UNSUPPORTED', /mode='host'> is not supported .*use mode='host-certificates'/);
  });
  it('at start: a missing directory, a file, a directory without cert9.db/cert8.db: SMARTCARD_DATABASE_MISSING naming it', () => {
    const def = parseDomainXml(
      domain(
        "<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate><certificate>c</certificate><database>/nonexistent/nss</database></smartcard>",
      ),
    );
    assert.throws(
      () => checkSmartcardDatabases(def),
      (e: Error & { code?: string }) => e.code === 'SMARTCARD_DATABASE_MISSING' && /no NSS database directory '\/nonexistent\/nss'/.test(e.message),
    );
    assert.match(nssDatabaseProblem('/etc/hostname') ?? '', /is not a directory/);
    assert.match(nssDatabaseProblem('/proc/self') ?? '', /holds no NSS database \(neither cert9\.db nor cert8\.db\)/);
    assert.equal(
      nssDatabaseProblem(
        '/d',
        () => ({ isDirectory: () => true }) as never,
        (p) => p === '/d/cert8.db',
      ),
      undefined,
      'a legacy dbm database will do',
    );
  });
});

describe("<smartcard mode='host-certificates'>: the destination's pre-flight row", () => {
  it('passes when each database is there; fails live, warns offline, naming the missing one', () => {
    const problem = (dir: string): string | undefined => (dir === '/ok' ? undefined : `no NSS database directory '${dir}'`);
    assert.equal(smartcardDatabaseCheck({ live: true, smartcardDatabases: ['/ok'] }, 'b', problem).outcome, 'pass');
    const live = smartcardDatabaseCheck({ live: true, smartcardDatabases: ['/ok', '/gone'] }, 'b', problem);
    assert.deepEqual(
      [live.id, live.outcome, live.reason],
      ['smartcard-database', 'fail', "no NSS database directory '/gone' on b (<smartcard mode='host-certificates'>)"],
    );
    assert.match(live.hint ?? '', /Copy the NSS database .* to b at the same path/);
    const offline = smartcardDatabaseCheck({ live: false, smartcardDatabases: ['/gone'] }, 'b', problem);
    assert.equal(offline.outcome, 'warn');
    assert.match(offline.reason, /will not start there until it exists/);
  });
  it('the request names the database, the default one when <database> is absent (a passthrough card has none)', () => {
    const def = parseDomainXml(
      domain(`<controller type='ccid' index='1'/>
      <smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate><certificate>c</certificate></smartcard>
      <smartcard mode='passthrough' type='unix'><source mode='bind' path='/tmp/s'/><address type='ccid' controller='1' slot='0'/></smartcard>`),
    );
    assert.deepEqual(smartcardDatabases(def), ['/etc/pki/nssdb']);
  });
});
