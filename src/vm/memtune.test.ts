import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseDomainXml } from './parse-domain-xml.js';
import { renderDomainXml } from './render-domain-xml.js';

const wrap = (inner: string): string =>
  `<domain type='kvm'><name>v</name><memory unit='MiB'>256</memory><os><type>hvm</type></os>${inner}<devices></devices></domain>`;

describe('<memtune>', () => {
  it('reads units into KiB (rounded up), keeps 0, renders after <currentMemory> and reads back the same', () => {
    const d = parseDomainXml(
      wrap("<memtune><hard_limit unit='MiB'>500</hard_limit><soft_limit>0</soft_limit><swap_hard_limit unit='G'>1</swap_hard_limit></memtune>"),
    );
    assert.deepEqual(d.memtune, { hardLimitKiB: 512000, softLimitKiB: 0, swapHardLimitKiB: 1048576 });
    const xml = renderDomainXml(d);
    assert.match(
      xml,
      /<currentMemory unit='KiB'>262144<\/currentMemory>\s*<memtune>\s*<hard_limit unit='KiB'>512000<\/hard_limit>\s*<soft_limit unit='KiB'>0<\/soft_limit>\s*<swap_hard_limit unit='KiB'>1048576<\/swap_hard_limit>\s*<\/memtune>/,
    );
    assert.deepEqual(parseDomainXml(xml).memtune, d.memtune);
    assert.equal(parseDomainXml(wrap("<memtune><hard_limit unit='b'>1025</hard_limit></memtune>")).memtune?.hardLimitKiB, 2);
  });

  it('unlimited (9007199254740991 KiB) is not kept; a <memtune> of only unlimited values disappears, as in libvirt', () => {
    const d = parseDomainXml(wrap('<memtune><hard_limit>9007199254740991</hard_limit><swap_hard_limit>9007199254740991</swap_hard_limit></memtune>'));
    assert.equal(d.memtune, undefined);
    assert.doesNotMatch(renderDomainXml(d), /memtune/);
  });

  it("refuses libvirt's invalid ones: swap_hard_limit below hard_limit, out of range, <min_guarantee>", () => {
    const refuses = (inner: string, re: RegExp, code = 'XML_INVALID'): void =>
      assert.throws(
        () => parseDomainXml(wrap(`<memtune>${inner}</memtune>`)),
        (e: unknown) => e instanceof FerryError && e.code === code && re.test(e.message),
      );
    refuses('<hard_limit>2048</hard_limit><swap_hard_limit>1024</swap_hard_limit>', /swap_hard_limit cannot be less than hard_limit/);
    refuses("<hard_limit unit='EiB'>9</hard_limit>", /out of range/);
    refuses('<hard_limit>-1</hard_limit>', /invalid value/);
    refuses('<min_guarantee>1024</min_guarantee>', /<min_guarantee> in <memtune> is not supported/, 'XML_UNSUPPORTED');
  });
});
