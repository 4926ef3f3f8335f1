/** One sample of the Prometheus text exposition format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string, line: number): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value '${s}'`);
  return Number(s);
}

/** Labels `{a="x",b="y\"z"}` from position 0 of `s`; returns them and where they end. */
function parseLabels(s: string, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = 1;
  while (s[i] !== '}') {
    const eq = s.indexOf('=', i);
    const name = s.slice(i, eq);
    if (eq < 0 || !LABEL.test(name)) throw new Error(`line ${line}: bad label name '${name}'`);
    if (s[eq + 1] !== '"') throw new Error(`line ${line}: label value of ${name} is not quoted`);
    let v = '';
    let j = eq + 2;
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\') {
        const e = s[++j];
        if (e === 'n') v += '\n';
        else if (e === '\\' || e === '"') v += e;
        else throw new Error(`line ${line}: bad escape \\${e}`);
      } else {
        v += s[j];
      }
    }
    if (j >= s.length) throw new Error(`line ${line}: unterminated label value`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    labels[name] = v;
    i = j + 1;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`line ${line}: expected , or } after label ${name}`);
  }
  return { labels, end: i + 1 };
}

/** The family a sample belongs to (histograms' _bucket, _sum, _count; summaries' _sum, _count). */
function familyOf(sample: string, families: Map<string, PromFamily>): PromFamily | undefined {
  if (families.has(sample)) return families.get(sample);
  const m = /^(.*)_(bucket|sum|count)$/.exec(sample);
  const f = m ? families.get(m[1] as string) : undefined;
  if (!f || !m) return undefined;
  if (m[2] === 'bucket' && f.type !== 'histogram') return undefined;
  return f.type === 'histogram' || f.type === 'summary' ? f : undefined;
}

/**
 * A strict parser of Prometheus' text format (version 0.0.4): every line is
 * HELP, TYPE or a sample of a family declared above it; names, labels,
 * escapes and values are checked; histograms' buckets are cumulative, end at
 * +Inf and agree with _count. Throws naming the first bad line.
 */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, PromFamily>();
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name '${name}'`);
      const f = families.get(name) ?? { name, type: 'untyped' as const, help: '', samples: [] };
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`line ${line}: bad type '${rest}'`);
        if (f.samples.length > 0) throw new Error(`line ${line}: TYPE of ${name} after its samples`);
        f.type = rest as PromFamily['type'];
      } else {
        f.help = rest;
      }
      families.set(name, f);
      return;
    }
    const nameEnd = raw.search(/[{ ]/);
    const name = raw.slice(0, nameEnd);
    if (nameEnd < 0 || !NAME.test(name)) throw new Error(`line ${line}: bad sample '${raw}'`);
    let rest = raw.slice(nameEnd);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const l = parseLabels(rest, line);
      labels = l.labels;
      rest = rest.slice(l.end);
    }
    const parts = rest.trim().split(' ');
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`line ${line}: bad sample '${raw}'`);
    const value = parseValue(parts[0] as string, line);
    const f = familyOf(name, families);
    if (!f) throw new Error(`line ${line}: sample ${name} has no TYPE above it`);
    if ((f.type === 'counter' || name.endsWith('_count') || name.endsWith('_bucket')) && !(value >= 0)) throw new Error(`line ${line}: ${name} is negative`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: PromFamily): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const e = series.get(key) ?? { buckets: [] };
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      e.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) {
      e.count = s.value;
    }
    series.set(key, e);
  }
  for (const [key, e] of series) {
    const last = e.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < e.buckets.length; i++) {
      const [prevLe, prevN] = e.buckets[i - 1] as [number, number];
      const [le, n] = e.buckets[i] as [number, number];
      if (!(le > prevLe) || n < prevN) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    if (e.count !== last[1]) throw new Error(`${f.name}${key}: _count ${e.count} is not the +Inf bucket ${last[1]}`);
  }
}

/** The value of the sample named `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
