import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseXml, XmlRefusedError, XmlSyntaxError } from './xml.js';
import { scanXml, XML_LIMITS } from './xml-scan.js';

describe('parseXml()', () => {
  it('refuses a DOCTYPE before parsing, and so never expands a declared entity', () => {
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<d>&b;</d>`;
    assert.throws(
      () => parseXml(bomb),
      (e: unknown) => e instanceof XmlRefusedError && e.refusal.kind === 'doctype' && e.refusal.line === 2,
    );
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
    assert.throws(
      () => parseXml('<d>&foo;</d>'),
      (e: unknown) => e instanceof XmlSyntaxError && /entity '&foo;' is not defined/.test(e.message),
    );
    assert.throws(() => parseXml('<d a="&x;"/>'), XmlSyntaxError);
    assert.throws(() => parseXml('<d>&#0;</d>'), XmlSyntaxError);
  });

  it('refuses documents over the byte or element limit before parsing them', () => {
    assert.throws(
      () => parseXml(`<d>${'<e/>'.repeat(50)}</d>`, { maxBytes: 1 << 20, maxElements: 40 }),
      (e: unknown) => e instanceof XmlRefusedError && e.refusal.kind === 'too-large' && e.refusal.what === 'elements' && e.refusal.found === 51,
    );
    assert.throws(
      () => parseXml(`<d>${'é'.repeat(600)}</d>`, { maxBytes: 1000, maxElements: 40 }),
      (e: unknown) => e instanceof XmlRefusedError && e.refusal.kind === 'too-large' && e.refusal.what === 'bytes' && e.refusal.found === 1207,
    );
    assert.equal(parseXml(`<d>${'<e/>'.repeat(39)}</d>`, { maxBytes: 1 << 20, maxElements: 40 }).children.length, 39);
    // Deep nesting, which would otherwise overflow the stack of a recursive reader: libxml2's 256 levels.
    const deep = (n: number): string => `${'<e>'.repeat(n)}${'</e>'.repeat(n)}`;
    assert.throws(
      () => parseXml(deep(257)),
      (e: unknown) => e instanceof XmlRefusedError && e.refusal.kind === 'too-large' && /more than 256 levels deep/.test(e.message),
    );
    assert.throws(() => parseXml(deep(15_000)), XmlRefusedError);
    assert.equal(parseXml(deep(256)).name, 'e');
  });

  it('scanXml() passes a real domain and names the limits it uses', () => {
    assert.equal(scanXml("<domain type='kvm'><name>a</name><!-- x --><devices/></domain>"), undefined);
    assert.deepEqual(XML_LIMITS, { maxBytes: 1024 * 1024, maxElements: 20_000, maxDepth: 256 });
  });

  it('reads what libvirt writes: a declaration, comments and PIs around the root, a BOM, namespaces, CDATA, self-closing tags', () => {
    const e = parseXml(
      "\ufeff<?xml version='1.0' encoding='UTF-8'?>\n<!-- c --><?pi x?>\n<domain type='kvm' xmlns:q=\"http://libvirt.org/schemas/domain/qemu/1.0\">\n  <name>web</name>\n  <q:commandline/>\n  <description><![CDATA[ a <b> & c ]]></description>\n  <devices>\n    <disk type=\"file\" device='disk'/>\n  </devices>\n</domain>\n<!-- after -->\n",
    );
    assert.equal(e.name, 'domain');
    assert.deepEqual(e.attrs, { type: 'kvm', 'xmlns:q': 'http://libvirt.org/schemas/domain/qemu/1.0' });
    assert.deepEqual(
      e.children.map((c) => c.name),
      ['name', 'q:commandline', 'description', 'devices'],
    );
    assert.equal(e.children[0]?.text, 'web');
    assert.equal(e.children[2]?.text, 'a <b> & c', "the element's text is trimmed as a whole, CDATA included");
    assert.deepEqual(e.children[3]?.children[0]?.attrs, { type: 'file', device: 'disk' });
  });

  it('trims text piece by piece around child elements, and normalises whitespace in attribute values, as XML does', () => {
    const e = parseXml("<a b='x\ty\nz'>  one  <c/>  two  </a>");
    assert.equal(e.text, 'onetwo');
    assert.equal(e.attrs.b, 'x y z');
  });

  it('refuses what is not well-formed, with the line and column', () => {
    const bad: Array<[string, RegExp]> = [
      ['<a><b></a>', /Expected closing tag 'b' .* instead of closing tag 'a'\. \(line 1, column 7\)/],
      ['<a>\n<b x=1/></a>', /Attribute 'x' is without value\. \(line 2/],
      ["<a x='1' x='2'/>", /Attribute 'x' is repeated/],
      ["<a x='<'/>", /'<' in the value of attribute 'x' of <a>/],
      ['<a>', /Unclosed tag 'a'\. \(line 1, column 1\)/],
      ['<a/><b/>', /expected one root element, found 2/],
      ['<a/>text', /text outside the root element/],
      ['text<a/>', /char 't' is not expected/],
      ['', /Start tag expected/],
      ['<a x/>', /boolean attribute 'x' is not allowed/],
      ['<a><!-- x </a>', /Unclosed tag 'a'/],
      ['<a><![CDATA[x</a>', /Unclosed tag 'a'/],
      ['<1a/>', /Tag '1a' is an invalid name/],
      ['<a>x & y</a>', /char '&' is not expected/],
      ["<a x='1'y='2'/>", /Attribute 'y' has no space in starting/],
    ];
    for (const [doc, re] of bad)
      assert.throws(
        () => parseXml(doc),
        (e: unknown) => e instanceof XmlSyntaxError && re.test(e.message),
        doc,
      );
  });

  it("reads a document at the limits (how long it takes is bench/large-define's to measure)", () => {
    const filler = Array.from({ length: 19_900 }, (_, i) => `<e n='${i}'>x</e>`).join('');
    const e = parseXml(`<d>${filler}</d>`);
    assert.equal(e.children.length, 19_900);
    assert.equal(e.children[19_899]?.attrs.n, '19899');
  });
});
