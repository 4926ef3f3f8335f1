import type { Duplex } from 'node:stream';
import { type ConsoleEnd, ConsoleFrameReader } from '../shared/console-protocol.js';
import type { Terminal } from './format.js';

/** virsh's default escape character: ^] (Ctrl + ]). */
export const ESCAPE_CHAR = 0x1d;

/** How a console session ended, seen from the client. */
export type ConsoleOutcome =
  /** The user typed the escape character. */
  | { kind: 'escape' }
  /** Standard input (not a terminal) reached its end. */
  | { kind: 'input-ended' }
  /** ferryd ended the session and said why. */
  | { kind: 'ended'; end: ConsoleEnd }
  /** The connection broke without a word from ferryd. */
  | { kind: 'dropped'; error?: string }
  /** The CLI was told to stop (SIGTERM, SIGHUP; SIGINT when the terminal is not raw). */
  | { kind: 'signal'; signal: NodeJS.Signals };

/**
 * The client's half of a console session (virsh's virshRunConsole): the
 * terminal in raw mode when it is one (keystrokes go to the guest as typed,
 * ^C included), keystrokes to ferryd and the guest's output to the terminal,
 * each read only as fast as the other side takes it, until the escape
 * character, the session's end or a dropped connection. The terminal is put
 * back as it was on every way out.
 */
export function runConsole(o: { socket: Duplex; head: Buffer; terminal: Terminal; escape?: number }): Promise<ConsoleOutcome> {
  const { socket, terminal } = o;
  const { input, output } = terminal;
  const escape = o.escape ?? ESCAPE_CHAR;
  const raw = terminal.setRaw(true);
  const restore = (): void => {
    if (raw) terminal.setRaw(false);
  };
  process.once('exit', restore);

  return new Promise<ConsoleOutcome>((resolve) => {
    const reader = new ConsoleFrameReader();
    let end: ConsoleEnd | undefined;
    let done = false;
    const signals: NodeJS.Signals[] = raw ? ['SIGTERM', 'SIGHUP'] : ['SIGTERM', 'SIGHUP', 'SIGINT'];
    const onSignal = (signal: NodeJS.Signals): void => finish({ kind: 'signal', signal });

    const finish = (outcome: ConsoleOutcome): void => {
      if (done) return;
      done = true;
      input.removeListener('data', onInput);
      input.removeListener('end', onInputEnd);
      input.pause();
      socket.removeListener('data', onSocket);
      for (const s of signals) process.removeListener(s, onSignal);
      restore();
      process.removeListener('exit', restore);
      // Our side closes; ferryd then ends the session and closes its side (a moment at most).
      socket.end();
      const timer = setTimeout(() => socket.destroy(), 1000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(outcome);
      });
      if (socket.destroyed) {
        clearTimeout(timer);
        resolve(outcome);
      }
    };

    const onSocket = (chunk: Buffer): void => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (err) {
        finish({ kind: 'dropped', error: (err as Error).message });
        return;
      }
      for (const f of frames) {
        if (f.type === 'end') {
          end = f.end;
          finish({ kind: 'ended', end });
          return;
        }
        if (f.data.length > 0 && !output.write(f.data)) {
          socket.pause();
          output.once('drain', () => socket.resume());
        }
      }
    };

    const onInput = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const at = bytes.indexOf(escape);
      const keys = at >= 0 ? bytes.subarray(0, at) : bytes;
      const more = keys.length === 0 || socket.write(keys);
      if (at >= 0) {
        finish({ kind: 'escape' });
        return;
      }
      if (!more) {
        input.pause();
        socket.once('drain', () => {
          if (!done) input.resume();
        });
      }
    };
    const onInputEnd = (): void => finish({ kind: 'input-ended' });

    socket.on('data', onSocket);
    socket.once('close', () => finish(end ? { kind: 'ended', end } : { kind: 'dropped' }));
    socket.on('error', (err) => finish(end ? { kind: 'ended', end } : { kind: 'dropped', error: err.message }));
    input.on('data', onInput);
    input.once('end', onInputEnd);
    for (const s of signals) process.on(s, onSignal);
    if (o.head.length > 0) onSocket(o.head);
    input.resume();
  });
}
