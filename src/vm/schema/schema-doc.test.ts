import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderDomainElementsDoc } from './schema-doc.js';

describe('docs/domain-elements.md', () => {
  it('is the rule tree ferry checks definitions against (regenerate with scripts/gen-domain-elements-doc.sh)', () => {
    const doc = readFileSync(new URL('../../../../docs/domain-elements.md', import.meta.url), 'utf8');
    assert.match(doc, /\| `domain\/devices\/disk\/driver` \| .*`cache`/);
    assert.equal(doc, renderDomainElementsDoc());
  });
});
