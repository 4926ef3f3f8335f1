import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildFerrydProgram } from '../daemon/command-line.js';
import { configKeyDocs, configKeys } from '../daemon/config.js';
import { CliContext } from '../cli/context.js';
import { buildProgram } from '../cli/main.js';
import { manPages } from './pages.js';

const manDir = new URL('../../../docs/man/', import.meta.url);
const pages = await manPages();
const page = (file: string): string => (pages.find((p) => p.file === file) as { text: string }).text;
/** What man shows, as plain text (hyphenation off, wide lines, so words can be searched). */
const rendered = (file: string): string =>
  execFileSync('groff', ['-man', '-Tutf8', '-P-cbou', '-rLL=300n', '-rHY=0', '-'], { input: page(file), encoding: 'utf8' });

describe('man pages (docs/man/)', () => {
  it('the checked-in pages are what scripts/gen-man.sh writes from the command definitions', () => {
    assert.deepEqual(
      pages.map((p) => p.file),
      ['ferry.1', 'ferryd.8', 'ferry-lockd.8', 'ferryd.conf.5'],
    );
    for (const p of pages) {
      assert.equal(readFileSync(new URL(p.file, manDir), 'utf8'), p.text, `docs/man/${p.file} is stale: run scripts/gen-man.sh`);
    }
  });

  it('each page renders with `man -l` and `groff -man -ww` without a warning', () => {
    for (const p of pages) {
      const file = new URL(p.file, manDir).pathname;
      const groff = spawnSync('groff', ['-man', '-ww', '-z', file], { encoding: 'utf8' });
      assert.equal(groff.status, 0, groff.stderr);
      assert.equal(groff.stderr, '', `groff warns about ${p.file}`);
      const man = spawnSync('man', ['--warnings=w', '-l', file], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' } });
      assert.equal(man.status, 0, man.stderr);
      assert.equal(man.stderr, '', `man -l warns about ${p.file}`);
      assert.match(man.stdout, /^NAME\n/m);
    }
  });

  it('ferry(1) has every verb under its help group with its options; ferryd(8) every option of ferryd', async () => {
    const program = await buildProgram(new CliContext({ out: () => undefined, err: () => undefined }));
    const text = rendered('ferry.1');
    assert.match(text, /\n {3}Domain Monitoring \(help keyword 'monitor'\)\n {7}domblklist/);
    for (const c of program.commands.filter((x) => !(x as unknown as { _hidden: boolean })._hidden)) {
      assert.match(text, new RegExp(`\\n {7}${c.name()}( \\[options\\])?( |\\n)`), `ferry(1) lacks ${c.name()}`);
      for (const o of c.options) assert.ok(text.includes(`${o.long ?? o.short}`), `ferry(1) lacks ${c.name()} ${o.flags}`);
    }
    const ferryd = rendered('ferryd.8');
    for (const o of buildFerrydProgram().options) assert.match(ferryd, new RegExp(`\\n {7}(-\\w, )?${o.long as string}`), `ferryd(8) lacks ${o.flags}`);
  });

  it('ferryd.conf(5) gives every key the parser accepts with its type, default and meaning', () => {
    const text = rendered('ferryd.conf.5');
    const docs = configKeyDocs();
    assert.deepEqual(
      docs.map((d) => d.key),
      configKeys(),
    );
    for (const d of docs) {
      assert.ok(
        d.type && d.default && d.doc,
        `ferryd.conf key ${d.key} has no type, default or meaning (document it where SETTINGS in src/daemon/config.ts sets it)`,
      );
      assert.ok(text.includes(`\n       ${d.key} (${d.type}; default: ${d.default})\n`), `ferryd.conf(5) lacks ${d.key}`);
    }
    assert.ok(text.includes('       max_clients (integer >= 1; default: 5000)\n'));
    assert.ok(text.includes('       unix_sock_rw_perms (octal string; default: "0660")\n'));
  });
});
