import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { configKeys, loadConfig } from '../../../src/daemon/config.js';
import { FerryError } from '../../../src/errors/ferry-error.js';
import type { Surface } from '../surface.js';
import { edgeValue } from '../xml-mutation.js';

/** A value in virconf's syntax, or something that only looks like one. */
const confValue: fc.Arbitrary<string> = fc.oneof(
  fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.double({ noNaN: true })).map(String),
  fc.constantFrom('0', '-1', '1', '65535', '65536', '4294967296', '1e3', '0x10', '1.5', '.5', '-', '--1', '1_000'),
  edgeValue.map((v) => `"${v}"`),
  edgeValue.map((v) => `'${v}'`),
  edgeValue.map((v) => `"""${v}"""`),
  fc
    .array(
      fc.oneof(
        edgeValue.map((v) => `"${v}"`),
        fc.integer().map(String),
        fc.constant(''),
      ),
      { maxLength: 4 },
    )
    .map((items) => `[ ${items.join(', ')} ]`),
  fc.constantFrom('true', 'false', 'yes', '"', "'", '"""', '[', '[ "a", ', ']', '""""', '[[]]', '"a" "b"', '# only a comment', ''),
  edgeValue,
);

const confLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...configKeys()), confValue).map(([k, v]) => `${k} = ${v}`) },
  { weight: 1, arbitrary: fc.tuple(fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/), confValue).map(([k, v]) => `${k} = ${v}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...configKeys()), confValue).map(([k, v]) => `${k}=${v};${k}=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', '   ', '=', '= 1', 'key', 'key =', '\u0000', '\ufeff', ';;', 'a b = 1', '[', '"') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

export interface ConfInput {
  lines: string[];
  crlf: boolean;
}

/**
 * ferryd.conf files read by ferryd's own loader (loadConfig, from a real file, as `ferryd --config FILE`
 * does): each is either a configuration or a CONFIG_INVALID error that names the file; nothing else.
 */
export function ferrydConfSurface(dir: string): Surface<ConfInput> {
  const file = `${dir}/fuzz-ferryd.conf`;
  const textOf = (input: ConfInput): string => input.lines.join(input.crlf ? '\r\n' : '\n');
  return {
    name: 'ferryd-conf',
    arbitrary: fc.record({ lines: fc.array(confLine, { maxLength: 8 }), crlf: fc.boolean() }),
    describe: (input) => `--- ferryd.conf ---\n${textOf(input)}`,
    async check(input) {
      writeFileSync(file, textOf(input));
      try {
        loadConfig(file);
        return 'accepted';
      } catch (err) {
        assert.ok(err instanceof FerryError, `loadConfig threw ${String((err as Error)?.stack ?? err)}`);
        assert.equal(err.code, 'CONFIG_INVALID', `loadConfig failed with ${err.code}: ${err.message}`);
        assert.ok(err.message.includes(file), `the error does not name the file: ${err.message}`);
        return { refused: err.code };
      }
    },
  };
}
