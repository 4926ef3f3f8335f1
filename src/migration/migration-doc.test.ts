import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { assertTransition, type Phase, type Side, TRANSITIONS } from './phases.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [{ path: p, text: readFileSync(p, 'utf8') }] : [];
  });
}

function diagram(): string {
  const doc = readFileSync(join(ROOT, 'docs/migration.md'), 'utf8');
  const m = /```mermaid\n(sequenceDiagram[\s\S]*?)```/.exec(doc);
  assert.ok(m, 'docs/migration.md has a mermaid sequenceDiagram');
  return m[1] as string;
}

const defines = (text: string, name: string): boolean =>
  new RegExp(`(function ${name}\\b|^\\s+(?:async |private |readonly |static )*${name}(?:<[^>]*>)?\\(|^\\s+get ${name}\\(|\\b${name}\\(\\w+\\??:)`, 'm').test(
    text,
  );

/** The sequence diagram in docs/migration.md names the code's phases, classes and functions: it stays in step with them. */
describe('docs/migration.md sequence diagram', () => {
  const text = diagram();
  const src = sources(join(ROOT, 'src'));

  it("names every phase, and persists each side's phases in an order the transition table allows", () => {
    for (const p of ['Begin', 'Prepare', 'Perform', 'Finish', 'Confirm', 'Succeeded', 'Failed', 'Cancelled'] satisfies Phase[])
      assert.match(text, new RegExp(`\\b${p}\\b`), p);
    for (const side of ['source', 'destination'] as const satisfies readonly Side[]) {
      const order = [...text.matchAll(new RegExp(`persist ${side} (\\w+)`, 'g'))].map((m) => m[1] as Phase);
      assert.ok(order.length >= 3, `${side}: ${order.join(' → ')}`);
      assert.ok(order[0] && Object.keys(TRANSITIONS[side]).includes(order[0]), `${side} starts in a phase of the table`);
      for (let i = 1; i < order.length; i++) assertTransition(side, order[i - 1] as Phase, order[i] as Phase);
      assert.equal(order.at(-1), 'Succeeded');
    }
  });

  it('every Class.method() it names is a method of that class', () => {
    const calls = [...text.matchAll(/\b([A-Z][A-Za-z]+)\.([a-z][A-Za-z]*)\(\)/g)];
    assert.ok(calls.length >= 8);
    for (const [, cls, method] of calls) {
      const file = src.find((f) => new RegExp(`\\b(?:class|interface) ${cls}\\b`).test(f.text));
      assert.ok(file, `class or interface ${cls} exists`);
      assert.ok(defines(file.text, method as string), `${cls}.${method}() exists in ${file.path}`);
    }
  });

  it('every function() it names is defined in src/', () => {
    const fns = [...new Set([...text.matchAll(/(?<![.\w])([a-z][A-Za-z]+)\(\)/g)].map((m) => m[1] as string))];
    assert.ok(fns.length >= 8);
    for (const fn of fns)
      assert.ok(
        src.some((f) => defines(f.text, fn)),
        `${fn}() is defined somewhere in src/`,
      );
  });

  it('every participant is a class in src/', () => {
    for (const [, cls] of text.matchAll(/participant \w+ as ([A-Z][A-Za-z]+) \(/g)) {
      assert.ok(
        src.some((f) => new RegExp(`\\bclass ${cls}\\b`).test(f.text)),
        `class ${cls}`,
      );
    }
  });
});
