import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type ConsoleEnd, dataFrame, endFrame } from '../shared/console-protocol.js';

export interface ConsoleSessionInit {
  /** The host's end of the console device (a pty, a unix socket connection). */
  guest: Duplex;
  log: Logger;
  /** The guest side closed or failed on its own; the owner decides why (the domain stopped, migrated, ...). */
  onGuestGone: (err?: Error) => void;
  /** How long a client that does not read may keep its connection after the end frame. */
  lingerMs?: number;
}

/**
 * One console session: the client's connection and the guest's console
 * device, copied both ways. Neither side is read faster than the other side
 * takes it (a client that stops reading holds the guest's output back, as a
 * serial line with flow control does, and ferryd buffers at most a stream's
 * high-water mark), so a slow client costs ferryd no memory and no time.
 * The session ends once: with a last frame that tells the client why.
 */
export class ConsoleSession {
  private client: Duplex | undefined;
  private end_: ConsoleEnd | undefined;
  private readonly ended: Promise<ConsoleEnd>;
  private resolveEnded!: (end: ConsoleEnd) => void;
  private guestGone = false;

  constructor(private readonly init: ConsoleSessionInit) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    const { guest } = init;
    guest.on('error', (err) => this.onGuestGone(err));
    guest.once('end', () => this.onGuestGone());
    guest.once('close', () => this.onGuestGone());
  }

  /** Resolves when the session ended, with why. */
  get done(): Promise<ConsoleEnd> {
    return this.ended;
  }

  get isEnded(): boolean {
    return this.end_ !== undefined;
  }

  /** Starts copying between the client's upgraded connection and the guest; `head` holds keystrokes that came with the request. */
  attach(client: Duplex, head: Buffer): void {
    if (this.end_) {
      client.end(endFrame(this.end_));
      return;
    }
    if (client.destroyed) {
      this.end({ reason: 'closed', message: 'the client went away' });
      return;
    }
    this.client = client;
    const { guest } = this.init;
    (client as Partial<Socket>).setNoDelay?.(true);
    client.on('error', (err) => {
      this.init.log.debug({ err: err.message }, 'console client connection failed');
      this.end({ reason: 'closed', message: 'the client went away' });
    });
    client.once('end', () => this.end({ reason: 'closed', message: 'the client ended the session' }));
    client.once('close', () => this.end({ reason: 'closed', message: 'the client went away' }));
    if (head.length > 0) guest.write(head);
    copy(guest, client, (chunk) => dataFrame(chunk));
    copy(client, guest, (chunk) => chunk);
  }

  /** Ends the session (once): the client gets `end` as its last frame, the guest side is closed. */
  end(end: ConsoleEnd, options: { lingerMs?: number } = {}): void {
    if (this.end_) return;
    this.end_ = end;
    const { guest, log } = this.init;
    guest.removeAllListeners('data');
    guest.pause();
    // Keystrokes already taken from the client reach the guest before the device closes.
    if (guest.writableLength > 0 && !guest.destroyed) {
      const timer = setTimeout(() => guest.destroy(), 2000);
      guest.once('drain', () => {
        clearTimeout(timer);
        guest.destroy();
      });
    } else {
      guest.destroy();
    }
    const client = this.client;
    if (client && !client.destroyed) {
      client.removeAllListeners('data');
      client.end(endFrame(end));
      // A client that never reads would keep its socket (and the end frame) forever.
      const linger = setTimeout(() => client.destroy(), options.lingerMs ?? this.init.lingerMs ?? 10_000);
      linger.unref();
      client.once('close', () => clearTimeout(linger));
    }
    log.info({ reason: end.reason }, 'console session ended');
    this.resolveEnded(end);
  }

  private onGuestGone(err?: Error): void {
    if (this.guestGone || this.end_) return;
    this.guestGone = true;
    this.init.onGuestGone(err);
  }
}

/** Copies `from` into `to`, reading `from` only while `to` takes more (stream backpressure, both ways). */
function copy(from: Duplex, to: Duplex, wrap: (chunk: Buffer) => Buffer): void {
  from.on('data', (chunk: Buffer) => {
    if (to.destroyed || to.writableEnded) return;
    if (!to.write(wrap(chunk))) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.resume();
}
