import type fc from 'fast-check';

/** What ferryd did with one input. */
/** What ferryd did with one input: accepted it, or refused it with this error code (the CLI's: its exit status). */
export type Outcome = 'accepted' | { refused: string };

/**
 * One input surface: how to generate its inputs and how to check one against ferryd
 * (check throws when an invariant breaks; a hang is a request that times out).
 */
export interface Surface<T> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  check(input: T): Promise<Outcome>;
  /** Shown for a failing input, so that it can be read and replayed by hand. */
  describe(input: T): string;
}
