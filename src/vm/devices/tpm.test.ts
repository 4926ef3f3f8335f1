import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tpmArgs } from '../../qemu/devices/tpm.js';
import { withAliases } from '../device-aliases.js';
import { parseDomainXml } from '../parse-domain-xml.js';
import { renderDomainXml } from '../render-domain-xml.js';

const domain = (tpm: string): string =>
  `<domain type='kvm'><name>t</name><memory>131072</memory><os><type machine='q35'>hvm</type></os><devices>${tpm}</devices></domain>`;

describe('<tpm>', () => {
  it("reads, renders back (dumpxml round trip) and puts libvirt's arguments on the command line", () => {
    for (const tpm of [
      "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>",
      "<tpm model='tpm-tis'><backend type='emulator' version='2.0' persistent_state='yes' debug='3'><active_pcr_banks><sha256/><sha512/></active_pcr_banks><source type='file' path='/var/tpm/state'/></backend></tpm>",
      "<tpm model='tpm-tis'><backend type='emulator' version='1.2'/></tpm>",
      "<tpm model='tpm-tis'><backend type='external'><source type='unix' mode='connect' path='/tmp/path.sock'/></backend></tpm>",
    ]) {
      const def = parseDomainXml(domain(tpm));
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, tpm);
    }
    const crb = withAliases(parseDomainXml(domain("<tpm model='tpm-crb'><backend type='emulator'/></tpm>")), true);
    assert.equal(crb.devices.tpm?.backend.type === 'emulator' && crb.devices.tpm.backend.version, '2.0');
    assert.deepEqual(tpmArgs(crb, '/run/x/swtpm.sock'), [
      '-chardev',
      'socket,id=chrtpm,path=/run/x/swtpm.sock',
      '-tpmdev',
      'emulator,id=tpm-tpm0,chardev=chrtpm',
      '-device',
      '{"driver":"tpm-crb","tpmdev":"tpm-tpm0","id":"tpm0"}',
    ]);
    const ext = withAliases(
      parseDomainXml(domain("<tpm><backend type='external'><source type='unix' mode='connect' path='/tmp/p.sock'/></backend></tpm>")),
      true,
    );
    assert.equal(tpmArgs(ext, undefined)[1], 'socket,id=chrtpm,path=/tmp/p.sock');
    assert.equal(ext.devices.tpm?.model, 'tpm-tis');
  });

  it('refuses what it cannot honour, naming it', () => {
    const refused = (tpm: string, re: RegExp): void =>
      assert.throws(
        () => parseDomainXml(domain(tpm)),
        (e: Error) => re.test(e.message),
      );
    refused("<tpm model='tpm-crb'><backend type='emulator' version='1.2'/></tpm>", /TPM version '1.2' is not supported by the CRB interface/);
    refused("<tpm><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>", /<backend type='passthrough'> is not supported/);
    refused(
      "<tpm><backend type='external'><source type='unix' mode='connect' path='/tmp/p.sock'/><encryption secret='32ee7e76-2178-47a1-ab7b-269e6e348015'/></backend></tpm>",
      /encryption/,
    );
    refused("<tpm><backend type='emulator'><profile name='default-v1'/></backend></tpm>", /<profile> in <backend> is not supported/);
    refused("<tpm><backend type='emulator'/></tpm><tpm><backend type='emulator'/></tpm>", /only one TPM/);
  });
});
