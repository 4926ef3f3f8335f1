/** Above this many characters a definition is "large": still accepted (up to the XML limits), but handled in turns. */
export const LARGE_XML_CHARS = 64 * 1024;

/** Lets every other callback waiting on the event loop (a `list`, a QMP event) run before the caller goes on. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Large definitions take their turn: one at a time, in arrival order, each
 * step (parse, render) after a yield to the event loop. Six large defines at
 * once then cost a query one step's wait, not six whole defines; small ones
 * never wait here.
 */
export class LargeXmlTurns {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` alone among large documents when `xml` is large; at once otherwise. */
  run<T>(xml: string, fn: (step: () => Promise<void>) => Promise<T>): Promise<T> {
    if (xml.length <= LARGE_XML_CHARS) return fn(async () => undefined);
    const mine = this.tail.then(() => fn(yieldToEventLoop));
    this.tail = mine.catch(() => undefined);
    return mine;
  }
}
