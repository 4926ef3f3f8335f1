import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/guest.js';
import type { DefinitionKind } from './definition.js';

/** libvirt's own test domains (tests/qemuxmlconfdata), copied under test/fixtures/libvirt-qemuxml. */
export function libvirtTestDomains(): { name: string; xml: string }[] {
  const dir = join(REPO_ROOT, 'test/fixtures/libvirt-qemuxml');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((f) => ({ name: f, xml: readFileSync(join(dir, f), 'utf8') }));
}

export function domainKind(): DefinitionKind {
  return {
    surface: 'domain-xml',
    definePath: '/v1/domains',
    replyKey: 'domain',
    xmlPath: (uuid) => `/v1/domains/${uuid}/xml?inactive=true`,
    undefinePath: (uuid) => `/v1/domains/${uuid}?nvram=keep&tpm=keep`,
    seeds: libvirtTestDomains(),
  };
}
