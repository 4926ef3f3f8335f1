import fc from 'fast-check';

/** One change to an XML document; indices pick among the document's elements, attributes or text nodes (modulo their count). */
export type XmlMutation =
  | { kind: 'drop'; element: number }
  | { kind: 'duplicate'; element: number }
  | { kind: 'move'; element: number; before: number }
  | { kind: 'attribute'; attribute: number; value: string }
  | { kind: 'text'; node: number; value: string }
  | { kind: 'inject'; element: number; xml: string }
  | { kind: 'truncate'; fraction: number }
  | { kind: 'prefix'; text: string };

/** A mutated document: its text, and where raw bytes that are not UTF-8 replace a marker in the request body. */
export interface MutatedXml {
  xml: string;
  /** Bytes spliced into the JSON body in place of BAD_BYTES_MARKER (an encoding error no JSON string can carry). */
  badBytes?: number[];
}

export const BAD_BYTES_MARKER = '\u0001BADBYTES\u0001';

/** Values at the edges of what settings accept, and garbage: what an attribute or a text node is set to. */
export const edgeValue: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '0',
      '-1',
      '1',
      '255',
      '256',
      '65535',
      '65536',
      '2147483648',
      '4294967295',
      '4294967296',
      '9007199254740993',
      '18446744073709551615',
      '18446744073709551616',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom('1e309', '-0', 'NaN', 'Infinity', '0x10', '010', ' 1 ', '1.5', '1,5', '+1', '1k', '1 KiB', 'yes', 'no', 'on', 'off', 'true'),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '../../../etc/passwd',
      '/dev/zero',
      '/',
      '%s%s%n',
      '${HOME}',
      '$(id)',
      ';reboot',
      'a'.repeat(4096),
      '\t',
      '-',
      ':',
      '::1',
      '0.0.0.0',
      '255.255.255.255',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom('&amp;', '&lt;x&gt;', '&#0;', '&#x110000;', '&undefined;', '\u0000', '\uffff', '\ud800', '😀', 'é', "'", '"', '<', ']]>'),
  },
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 3, arbitrary: fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.double()).map(String) },
);

const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);

/** An element no schema knows, possibly nested, possibly with a namespace. */
const unknownElement: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(name, name, edgeValue).map(([n, a, v]) => `<${n} ${a}='${v.replace(/'/g, '&apos;')}'/>`),
  fc.tuple(name, edgeValue).map(([n, t]) => `<${n}>${t}</${n}>`),
  name.map((n) => `<x:${n} xmlns:x='urn:fuzz'><x:inner/></x:${n}>`),
  fc.constantFrom('<!-- comment -->', '<![CDATA[<domain/>]]>', '<?pi data?>', '<unclosed>', '</stray>', '<a><b></a></b>'),
);

/** Text put before the document: declarations with odd encodings, a BOM, DTDs with entities (internal, nested, external). */
const prefix: fc.Arbitrary<string> = fc.constantFrom(
  "<?xml version='1.0' encoding='UTF-8'?>\n",
  "<?xml version='1.0' encoding='ISO-8859-1'?>\n",
  "<?xml version='1.0' encoding='UTF-16'?>\n",
  "<?xml version='1.1' encoding='EBCDIC'?>\n",
  "<?xml version='2.0'?>",
  '\ufeff',
  '\ufeff\ufeff',
  '\u0000',
  ' \n\t',
  '<!DOCTYPE domain [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>',
  '<!DOCTYPE domain SYSTEM "file:///etc/passwd">',
  '<!DOCTYPE domain [<!ENTITY x SYSTEM "file:///etc/hostname">]>',
  '<!DOCTYPE domain [<!ELEMENT domain ANY>]>',
  '<domain>',
  '</domain>',
  BAD_BYTES_MARKER,
);

const mutation: fc.Arbitrary<XmlMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('drop' as const), element: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), element: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), element: fc.nat(), before: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('attribute' as const), attribute: fc.nat(), value: edgeValue }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('text' as const), node: fc.nat(), value: edgeValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inject' as const), element: fc.nat(), xml: unknownElement }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('prefix' as const), text: prefix }) },
);

/** One to four mutations, applied in order. */
export const xmlMutations: fc.Arbitrary<XmlMutation[]> = fc.array(mutation, { minLength: 1, maxLength: 4 });

interface Element {
  start: number;
  end: number;
}

/** The elements of a document as spans of its text (a scanner for the well-formed fixtures, not a parser). */
export function elementSpans(xml: string): Element[] {
  const spans: Element[] = [];
  const open: number[] = [];
  const tag = /<(\/?)[A-Za-z_][\w.:-]*(?:\s[^<>]*?)?(\/?)>/g;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const end = m.index + m[0].length;
    if (m[2]) spans.push({ start: m.index, end });
    else if (m[1]) {
      const start = open.pop();
      if (start !== undefined) spans.push({ start, end });
    } else open.push(m.index);
  }
  return spans.sort((a, b) => a.start - b.start);
}

function pick<T>(items: T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

/** Applies one mutation; one that finds nothing to change leaves the document as it was. */
export function applyMutation(xml: string, m: XmlMutation): string {
  switch (m.kind) {
    case 'drop': {
      const e = pick(elementSpans(xml), m.element);
      return e ? xml.slice(0, e.start) + xml.slice(e.end) : xml;
    }
    case 'duplicate': {
      const e = pick(elementSpans(xml), m.element);
      return e ? xml.slice(0, e.end) + xml.slice(e.start, e.end) + xml.slice(e.end) : xml;
    }
    case 'move': {
      const spans = elementSpans(xml);
      const e = pick(spans, m.element);
      if (!e) return xml;
      const text = xml.slice(e.start, e.end);
      const rest = xml.slice(0, e.start) + xml.slice(e.end);
      const targets = elementSpans(rest);
      const t = pick(targets, m.before);
      return t ? rest.slice(0, t.start) + text + rest.slice(t.start) : xml;
    }
    case 'attribute': {
      const attrs = [...xml.matchAll(/(\s[\w:.-]+=)(['"])([^'"]*)\2/g)];
      const a = pick(attrs, m.attribute);
      if (!a || a.index === undefined) return xml;
      const quote = a[2] as string;
      return xml.slice(0, a.index) + `${a[1]}${quote}${m.value}${quote}` + xml.slice(a.index + a[0].length);
    }
    case 'text': {
      const nodes = [...xml.matchAll(/>([^<>]*\S[^<>]*)</g)];
      const n = pick(nodes, m.node);
      if (!n || n.index === undefined) return xml;
      return xml.slice(0, n.index + 1) + m.value + xml.slice(n.index + 1 + (n[1] as string).length);
    }
    case 'inject': {
      const e = pick(elementSpans(xml), m.element);
      if (!e) return xml + m.xml;
      const close = xml.indexOf('>', e.start) + 1;
      return xml.slice(0, close) + m.xml + xml.slice(close);
    }
    case 'truncate':
      return xml.slice(0, Math.floor(xml.length * m.fraction));
    case 'prefix':
      return m.text + xml;
  }
}

/** The JSON request body `{"xml": ...}` for a mutated document; BAD_BYTES_MARKER becomes bytes that are not UTF-8. */
export function xmlBody(xml: string): Buffer {
  const json = JSON.stringify({ xml });
  const marker = JSON.stringify(BAD_BYTES_MARKER).slice(1, -1);
  const parts = json.split(marker);
  const bad = Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]);
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [Buffer.from(p, 'utf8')] : [bad, Buffer.from(p, 'utf8')])));
}
