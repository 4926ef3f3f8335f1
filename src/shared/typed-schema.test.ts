import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anyValue, bool, closed, int, nonEmpty, nullable, nullableClosed, optional, record, text, textAs } from './typed-schema.js';

/** The JSON Schema a builder emits (TypeBox's symbols are not part of it). */
const json = (s: unknown): unknown => JSON.parse(JSON.stringify(s));

describe('typed-schema builders', () => {
  it('closed() refuses unknown keys and requires what is not optional()', () => {
    assert.deepEqual(json(closed({ ref: nonEmpty(), live: optional(bool()) })), {
      additionalProperties: false,
      type: 'object',
      required: ['ref'],
      properties: { ref: { type: 'string', minLength: 1 }, live: { type: 'boolean' } },
    });
  });

  it('nullableClosed() is a body that may be null, with every key optional', () => {
    assert.deepEqual(json(nullableClosed({ paused: optional(bool()), n: optional(int(0, 9)) })), {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: { paused: { type: 'boolean' }, n: { type: 'integer', minimum: 0, maximum: 9 } },
    });
  });

  it('record() is open; nullable(), textAs() and anyValue() add nothing a client would read as a new constraint', () => {
    assert.deepEqual(json(record({ state: textAs<'running' | 'paused'>('running, paused'), id: nullable(text('the id')), any: optional(anyValue()) })), {
      additionalProperties: true,
      type: 'object',
      required: ['state', 'id'],
      properties: { state: { type: 'string', description: 'running, paused' }, id: { description: 'the id', type: ['string', 'null'] }, any: {} },
    });
  });
});
