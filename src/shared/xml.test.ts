import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseXml, XmlRefusedError, XmlSyntaxError } from './xml.js';
import { scanXml, XML_LIMITS } from './xml-scan.js';

describe('parseXml()', () => {
  it('refuses a DOCTYPE before parsing, and so never expands a declared entity', () => {
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<d>&b;</d>`;
    assert.throws(() => parseXml(bomb), (e: unknown) => e instanceof XmlRefusedError && e.refusal.kind === 'doctype' && e.refusal.line === 2);
    assert.throws(() => parseXml('<!DOCTYPE d SYSTEM "file:///etc/passwd"><d/>'), XmlRefusedError);
    assert.throws(() => parseXml('<d><!DOCTYPE x></d>'), XmlRefusedError, 'not only in the prolog');
    assert.throws(() => parseXml('<d><!ENTITY x "y"></d>'), XmlRefusedError);
  });

  it('keeps DTD-like text inside comments and CDATA as text', () => {
    const e = parseXml('<!-- <!DOCTYPE x> --><d><![CDATA[<!ENTITY x "y"> &nope;]]></d>');
    assert.equal(e.text, '<!ENTITY x "y"> &nope;');
  });

  it('decodes the five predefined entities and character references, once', () => {
    const e = parseXml(`<d a="&lt;&#65;&#x42;&quot;">&amp;#65; &apos;&gt;</d>`);
    assert.equal(e.attrs.a, '<AB"');
    assert.equal(e.text, "&#65; '>");
  });

  it('an undefined entity is a syntax error, never kept verbatim', () => {
    assert.throws(() => parseXml('<d>&foo;</d>'), (e: unknown) => e instanceof XmlSyntaxError && /entity '&foo;' is not defined/.test(e.message));
    assert.throws(() => parseXml('<d a="&x;"/>'), XmlSyntaxError);
    assert.throws(() => parseXml('<d>&#0;</d>'), XmlSyntaxError);
  });

  it('refuses documents over the byte or element limit before parsing them', () => {
    assert.throws(() => parseXml(`<d>${'<e/>'.repeat(50)}</d>`, { maxBytes: 1 << 20, maxElements: 40 }), (e: unknown) =>
      e instanceof XmlRefusedError && e.refusal.kind === 'too-large' && e.refusal.what === 'elements' && e.refusal.found === 51);
    assert.throws(() => parseXml(`<d>${'é'.repeat(600)}</d>`, { maxBytes: 1000, maxElements: 40 }), (e: unknown) =>
      e instanceof XmlRefusedError && e.refusal.kind === 'too-large' && e.refusal.what === 'bytes' && e.refusal.found === 1207);
    assert.equal(parseXml(`<d>${'<e/>'.repeat(39)}</d>`, { maxBytes: 1 << 20, maxElements: 40 }).children.length, 39);
  });

  it('scanXml() passes a real domain and names the limits it uses', () => {
    assert.equal(scanXml("<domain type='kvm'><name>a</name><!-- x --><devices/></domain>"), undefined);
    assert.deepEqual(XML_LIMITS, { maxBytes: 1024 * 1024, maxElements: 20_000 });
  });
});
