import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { loadClientConfig, userClientConfigPath } from './client-config.js';
import { chooseUri } from './uri.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-clientconf-'));
// After every describe below: the later ones write into it too (an after() inside the first left it behind).
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};

describe("client config (ferry.conf, libvirt.conf's format)", () => {
  it("the user's file is $XDG_CONFIG_HOME/ferry/ferry.conf, else ~/.config/ferry/ferry.conf", () => {
    assert.equal(userClientConfigPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/x/ferry/ferry.conf');
    assert.equal(userClientConfigPath({ HOME: '/h' }), '/h/.config/ferry/ferry.conf');
  });

  it("reads uri_default and uri_aliases; the user's file wins key by key; a missing file is no error", () => {
    const system = file(
      'etc/ferry.conf',
      'uri_default = "ferry:///system?socket=/sys.sock"\nuri_aliases = [\n  "hail=ferry+ssh://root@hail/system",  # a comment\n  "sleet=ferry+tls://sleet/system",\n]\n',
    );
    const user = file('home/ferry.conf', "uri_default = 'ferry:///session'\n");
    const c = loadClientConfig({}, [system, user, join(dir, 'none.conf')]);
    assert.deepEqual(c.uriDefault, { uri: 'ferry:///session', source: user });
    assert.equal(c.aliases.get('hail'), 'ferry+ssh://root@hail/system');
    assert.equal(c.aliases.get('sleet'), 'ferry+tls://sleet/system');
  });

  it('refuses what libvirt refuses, with the file and line and CLIENT_CONFIG_INVALID', () => {
    const cases: [string, RegExp][] = [
      ['uri_aliases = [ "hail" ]', /bad1\.conf:1: Malformed 'uri_aliases' config entry 'hail', expected 'alias=uri:\/\/host\/path'/],
      ['uri_aliases = [ "ha.il=ferry:///system" ]', /aliases may only contain 'a-Z, 0-9, _, -'/],
      ['uri_default = 5', /uri_default must be a URI in quotes/],
      ['uri_aliases = "a=b"', /uri_aliases must be a list/],
      ['\nuri_dfault = "ferry:///system"', /bad5\.conf:2: unknown setting 'uri_dfault'/],
      ['uri_default = ferry:///system', /bad6\.conf:1: expecting a value, found 'ferry:\/\/\/system' \(strings need quotes\)/],
    ];
    cases.forEach(([text, message], i) => {
      const p = file(`bad${i + 1}.conf`, text);
      assert.throws(
        () => loadClientConfig({}, [p]),
        (e: unknown) => e instanceof FerryError && e.code === 'CLIENT_CONFIG_INVALID' && message.test(e.message),
        text,
      );
    });
  });
});

describe('the shipped and documented client configs', () => {
  const root = new URL('../../../', import.meta.url);
  it("packaging/etc/ferry/ferry.conf loads as shipped and with its examples uncommented; docs/client-config.md's example loads", () => {
    const shipped = readFileSync(new URL('packaging/etc/ferry/ferry.conf', root), 'utf8');
    assert.deepEqual(loadClientConfig({}, [file('shipped.conf', shipped)]), { aliases: new Map() });
    const uncommented = shipped
      .split('\n')
      .filter((l) => /^#(uri_|\s+"|\])/.test(l))
      .map((l) => l.slice(1))
      .join('\n');
    const c = loadClientConfig({}, [file('uncommented.conf', uncommented)]);
    assert.equal(c.uriDefault?.uri, 'ferry:///system');
    assert.equal(c.aliases.get('sleet'), 'ferry+tls://sleet.example.com/system');
    const doc = readFileSync(new URL('docs/client-config.md', root), 'utf8');
    const example = /```ini\n([^`]*)```/.exec(doc)?.[1] ?? '';
    assert.equal(loadClientConfig({}, [file('doc.conf', example)]).aliases.get('hail'), 'ferry+ssh://root@hail.example.com/system');
  });
});

describe("chooseUri(): libvirt's order", () => {
  const config = () => ({ uriDefault: { uri: 'hail', source: '/etc/ferry/ferry.conf' }, aliases: new Map([['hail', 'ferry+ssh://root@hail/system']]) });

  it('-c > FERRY_DEFAULT_URI > uri_default > built-in; an alias is expanded whichever gave it', () => {
    assert.deepEqual(chooseUri({ connect: 'ferry:///session', env: { FERRY_DEFAULT_URI: 'qemu:///system' }, config }), { uri: 'ferry:///session', from: '-c' });
    assert.equal(chooseUri({ connect: 'hail', env: {}, config }).uri, 'ferry+ssh://root@hail/system');
    assert.equal(chooseUri({ connect: 'sleet', env: {}, config }).uri, 'sleet', 'not an alias: used as given (and refused as a URI later)');
    assert.deepEqual(chooseUri({ env: { FERRY_DEFAULT_URI: 'qemu:///system' }, config }), { uri: 'qemu:///system', from: 'FERRY_DEFAULT_URI' });
    assert.deepEqual(chooseUri({ env: {}, config }), { uri: 'ferry+ssh://root@hail/system', from: "/etc/ferry/ferry.conf, alias 'hail'" });
    assert.equal(
      chooseUri({ env: { LIBVIRT_DEFAULT_URI: 'qemu+ssh://other/system' }, config: () => ({ aliases: new Map() }) }).from,
      'built-in default',
      'LIBVIRT_DEFAULT_URI names libvirtd, not ferryd',
    );
  });

  it('a URI given with -c or FERRY_DEFAULT_URI does not read the files at all', () => {
    const broken = (): never => {
      throw new Error('read');
    };
    assert.equal(chooseUri({ connect: 'ferry:///system', env: {}, config: broken }).uri, 'ferry:///system');
    assert.equal(chooseUri({ env: { FERRY_DEFAULT_URI: 'ferry:///session' }, config: broken }).uri, 'ferry:///session');
  });
});
