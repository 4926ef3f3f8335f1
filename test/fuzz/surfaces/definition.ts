import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ensureBaseline } from '../baseline.js';
import { assertCodedRefusal, assertNoInternalError, assertStateUnchanged } from '../invariants.js';
import type { Surface } from '../surface.js';
import type { FuzzTarget } from '../target.js';
import { applyMutation, type XmlMutation, xmlBody, xmlMutations } from '../xml-mutation.js';

/** A kind of definition: where it is defined, read back and removed, and the seeds its inputs mutate. */
export interface DefinitionKind {
  surface: string;
  definePath: string;
  /** The reply's key for the defined object: domain, network, pool. */
  replyKey: string;
  xmlPath(uuid: string): string;
  undefinePath(uuid: string): string;
  seeds: readonly { name: string; xml: string }[];
}

export interface DefinitionInput {
  seed: number;
  mutations: XmlMutation[];
}

/**
 * Mutated definitions: each is defined; a refusal must be coded and change nothing; an accepted one must
 * round-trip (define(dumpxml(x)) gives the same dumpxml) and is then undefined, which restores the state.
 */
export function definitionSurface(target: FuzzTarget, kind: DefinitionKind, expected: { state: string }): Surface<DefinitionInput> {
  const textOf = (input: DefinitionInput): string =>
    input.mutations.reduce((xml, m) => applyMutation(xml, m), (kind.seeds[input.seed % kind.seeds.length] as { xml: string }).xml);
  const dumpxml = async (uuid: string): Promise<string> => {
    const r = await target.call('GET', kind.xmlPath(uuid));
    assert.equal(r.status, 200, `dumpxml of an accepted ${kind.replyKey}: ${r.text}`);
    return (r.json as { xml: string }).xml;
  };
  return {
    name: kind.surface,
    arbitrary: fc.record({ seed: fc.nat(), mutations: xmlMutations }),
    describe: (input) =>
      `seed file ${kind.seeds[input.seed % kind.seeds.length]?.name}; mutations ${JSON.stringify(input.mutations)}\n--- document ---\n${textOf(input)}`,
    async check(input) {
      const r = await target.request('POST', kind.definePath, xmlBody(textOf(input)));
      if (r.status !== 200) {
        assertCodedRefusal(`define ${kind.replyKey}`, r);
        await assertStateUnchanged(target, expected.state, `define ${kind.replyKey} refused with ${r.code}`);
        return { refused: r.code as string };
      }
      const uuid = (r.json as Record<string, { uuid: string }>)[kind.replyKey]?.uuid as string;
      const first = await dumpxml(uuid);
      const again = await target.call('POST', kind.definePath, { xml: first });
      assertNoInternalError('define(dumpxml(x))', again);
      assert.equal(again.status, 200, `define(dumpxml(x)) was refused: ${again.text}\n--- dumpxml ---\n${first}`);
      assert.equal(await dumpxml(uuid), first, 'define(dumpxml(x)) changed the dumpxml');
      const removed = await target.call('DELETE', kind.undefinePath(uuid));
      assert.equal(removed.status, 200, `undefine of an accepted ${kind.replyKey}: ${removed.text}`);
      await ensureBaseline(target); // an accepted definition may have replaced the baseline's own
      expected.state = await target.snapshot();
      return 'accepted';
    },
  };
}
