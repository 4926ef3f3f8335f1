import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { configFromText, configKeys, loadConfig } from '../daemon/config.js';
import { parseConfFile } from './config-file.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const value = (text: string, key: string): unknown => parseConfFile(text).get(key)?.value;

describe('parseConfFile()', () => {
  it("reads libvirt's syntax: strings, numbers, lists and comments", () => {
    const m = parseConfFile('# comment\nlock_manager = "lockd"   # trailing\nport = 16520\nlist = [ "a", "b#c",\n  "d" ]\nempty = []\n');
    assert.equal(m.get('lock_manager')?.value, 'lockd');
    assert.equal(m.get('port')?.value, 16520);
    assert.deepEqual(m.get('list')?.value, ['a', 'b#c', 'd']);
    assert.deepEqual(m.get('empty')?.value, []);
  });

  it('keeps commas and # inside quoted strings (the documented tls_allowed_dn_list)', () => {
    assert.deepEqual(value('tls_allowed_dn_list = [ "O=ferry,OU=ferry-host,CN=*" ]\n', 'tls_allowed_dn_list'), ['O=ferry,OU=ferry-host,CN=*']);
    assert.deepEqual(value("l = [ 'C=GB,O=a#b,CN=x', \"O=it's,CN=*\" ]", 'l'), ['C=GB,O=a#b,CN=x', "O=it's,CN=*"]);
    assert.equal(value('s = "a # not a comment" # a comment', 's'), 'a # not a comment');
  });

  it('lists span lines, with comments between items and a trailing comma', () => {
    const text = 'peers = [\n  "ferry+tls://h1/system",   # the first host\n  # h2 is down for now\n  "ferry+tls://h3/system",\n]\nnext = 1\n';
    const m = parseConfFile(text);
    assert.deepEqual(m.get('peers')?.value, ['ferry+tls://h1/system', 'ferry+tls://h3/system']);
    assert.deepEqual(m.get('next'), { value: 1, line: 6 });
  });

  it('single quotes, triple quotes over lines, no escapes (a backslash is itself, as in libvirt), ; between statements', () => {
    const m = parseConfFile('a = \'say "hi"\'; b = -4\nc = """two\nlines"""\nd = "C:\\\\dir\\\\"\ne = 7\n');
    assert.equal(m.get('a')?.value, 'say "hi"');
    assert.equal(m.get('b')?.value, -4);
    assert.equal(m.get('c')?.value, 'two\nlines');
    assert.equal(m.get('d')?.value, 'C:\\\\dir\\\\');
    assert.deepEqual(m.get('e'), { value: 7, line: 5 });
  });

  it('names the line and what it expected, as libvirt does', () => {
    const bad: Array<[string, RegExp]> = [
      ['a = "x"\nb = unquoted\n', /f\.conf:2: expecting a value, found 'unquoted' \(strings need quotes\)/],
      ['a = "x\n', /f\.conf:1: unterminated string/],
      ['a = [ "x" "y" ]\n', /f\.conf:1: expecting a separator in list/],
      ['a = [ "x",\n "y"\n', /f\.conf:3: list is not closed with \]/],
      ['a = 1 2\n', /f\.conf:1: expecting a separator/],
      ['a "x"\n', /f\.conf:1: expecting an assignment after 'a'/],
      ['= 1\n', /f\.conf:1: expecting a name/],
      ['a = [ 1 ]\n', /f\.conf:1: list items must be strings/],
      ['a =\n', /f\.conf:1: expecting a value/],
    ];
    for (const [text, re] of bad)
      assert.throws(
        () => parseConfFile(text, 'f.conf'),
        (e: unknown) => e instanceof FerryError && e.code === 'CONFIG_INVALID' && re.test(e.message),
        text,
      );
  });
});

describe('loadConfig()', () => {
  it('applies the file over the defaults and the command line over the file; refuses unknown keys', () => {
    const dir = tempDir('ferry-conf-');
    const f = `${dir.path}/ferryd.conf`;
    writeFileSync(f, 'accel = "tcg"\nstate_dir = "/srv/ferry"\njob_wait_timeout = 5\n');
    const c = loadConfig(f, { stateDir: '/override' });
    assert.deepEqual([c.accel, c.stateDir, c.jobWaitTimeout, c.socket], ['tcg', '/override', 5, '/run/ferry/ferryd.sock']);
    writeFileSync(f, 'acel = "tcg"\n');
    assert.throws(
      () => loadConfig(f),
      (e: unknown) => e instanceof FerryError && e.code === 'CONFIG_INVALID' && /ferryd.conf:1: unknown setting 'acel'/.test(e.message),
    );
    writeFileSync(f, 'accel = "fast"\n');
    assert.throws(() => loadConfig(f), /accel must be "auto", "kvm" or "tcg"/);
    dir.cleanup();
  });
});

/** Where a user reads about ferryd.conf: every example there must load. */
function docFiles(): string[] {
  return [
    join(ROOT, 'README.md'),
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(ROOT, 'docs', f)),
  ];
}

interface Example {
  where: string;
  /** ferryd.conf text, or for a table row one value and the keys it may belong to. */
  text?: string;
  value?: string;
  keys?: string[];
}

/**
 * Every ferryd.conf example in the docs: fenced blocks of `conf`, inline
 * `key = value` spans with a known key (in text, lists and tables), and in
 * the settings tables each literal value of a row (defaults and "e.g.").
 */
function docExamples(): Example[] {
  const keys = new Set(configKeys());
  const out: Example[] = [];
  for (const file of docFiles()) {
    const name = file.slice(ROOT.length);
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      const fence = /^```(\S*)/.exec(line);
      if (fence) {
        const start = i;
        const body: string[] = [];
        while (++i < lines.length && !(lines[i] as string).startsWith('```')) body.push(lines[i] as string);
        const isConf = fence[1] === 'conf' || body.some((l) => /ferryd\.conf/.test(l) && l.trim().startsWith('#'));
        if (isConf) out.push({ where: `${name}:${start + 1}`, text: `${body.join('\n')}\n` });
        continue;
      }
      for (const span of line.match(/`[^`]+`/g) ?? []) {
        const m = /^`([a-z_]+)\s*=\s*(.+)`$/.exec(span);
        if (m && keys.has(m[1] as string)) out.push({ where: `${name}:${i + 1}`, text: `${m[1]} = ${m[2]}\n` });
      }
      const cells = line.split(/(?<!\\)\|/).slice(1, -1);
      const rowKeys = (cells[0]?.match(/`([a-z_]+)`/g) ?? []).map((k) => k.slice(1, -1)).filter((k) => keys.has(k));
      if (line.startsWith('|') && rowKeys.length > 0) {
        for (const cell of cells.slice(1)) {
          for (const span of cell.match(/`[^`]+`/g) ?? []) {
            const v = span.slice(1, -1);
            if (/^["'[]|^-?\d+(\.\d+)?$/.test(v)) out.push({ where: `${name}:${i + 1}`, value: v, keys: rowKeys });
          }
        }
      }
    }
  }
  return out;
}

describe('ferryd.conf examples in README.md and docs/', () => {
  it('every one of them loads', () => {
    const examples = docExamples();
    assert.ok(
      examples.some((e) => e.value === '[ "O=ferry,OU=ferry-host,CN=*" ]'),
      'the documented tls_allowed_dn_list is among them',
    );
    assert.ok(examples.filter((e) => e.text).length >= 4, `only ${examples.filter((e) => e.text).length} examples with text`);
    const failures: string[] = [];
    for (const e of examples) {
      if (e.text !== undefined) {
        try {
          configFromText(e.text, e.where);
        } catch (err) {
          failures.push(`${e.where}: ${(err as Error).message}`);
        }
        continue;
      }
      const errors = (e.keys ?? []).map((k) => {
        try {
          configFromText(`${k} = ${e.value}\n`, e.where);
          return undefined;
        } catch (err) {
          return `${k} = ${e.value}: ${(err as Error).message}`;
        }
      });
      if (errors.every((x) => x !== undefined)) failures.push(`${e.where}: ${errors.join('; ')}`);
    }
    assert.deepEqual(failures, []);
  });

  it('the documented tls_allowed_dn_list reads as one pattern', () => {
    const c = configFromText('tls_allowed_dn_list = [ "O=ferry,OU=ferry-host,CN=*" ]\n', 'x');
    assert.deepEqual(c.tlsAllowedDnList, ['O=ferry,OU=ferry-host,CN=*']);
  });
});
