import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_CODES } from './codes.js';
import { renderErrorsDoc } from './errors-doc.js';

describe('docs/errors.md', () => {
  it('lists every code of the registry with its hint (regenerate with scripts/gen-errors-doc.sh)', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERROR_CODES)) assert.match(doc, new RegExp(`\\| \`${code}\` \\|`), code);
    assert.equal(doc, renderErrorsDoc());
  });
});
