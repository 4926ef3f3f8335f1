/**
 * The console stream (ferry console, virsh's virDomainOpenConsole): an HTTP/1.1
 * request upgraded to a byte stream. The client sends the keystrokes as they
 * are; ferryd sends frames, so that the reason a session ends reaches the
 * client apart from the guest's bytes:
 *
 *   [type: 1 byte][length: 4 bytes, big endian][payload]
 *   type 0: guest output      type 1: the end (a JSON ConsoleEnd), then ferryd closes
 *
 * A client that closes its side ends the session (the escape character).
 */
export const CONSOLE_UPGRADE = 'ferry-console';
/** The 101 reply names the domain and the device the session is attached to. */
export const CONSOLE_DOMAIN_HEADER = 'x-ferry-domain';
export const CONSOLE_DEVICE_HEADER = 'x-ferry-device';

/** Why a session ended; the client words its last line and its exit status from it. */
export type ConsoleEndReason =
  /** The guest side closed without the domain stopping. */
  | 'closed'
  /** The domain shut off (shutdown, destroy, crash). */
  | 'stopped'
  /** The domain migrated to another host: its console is there now. */
  | 'migrated'
  /** Another client took the console over (--force). */
  | 'forced'
  /** ferryd is stopping. */
  | 'daemon'
  /** The guest side failed. */
  | 'error';

export interface ConsoleEnd {
  reason: ConsoleEndReason;
  message: string;
}

const DATA = 0;
const END = 1;
const HEADER = 5;
/** No frame is larger: ferryd reads the guest side in chunks of at most 64 KiB. */
export const MAX_FRAME = 1024 * 1024;

/** Guest output, as a frame. */
export function dataFrame(chunk: Buffer): Buffer {
  return frame(DATA, chunk);
}

/** The session's end, as a frame (the last one). */
export function endFrame(end: ConsoleEnd): Buffer {
  return frame(END, Buffer.from(JSON.stringify(end), 'utf8'));
}

function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(HEADER);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

export type ConsoleFrame = { type: 'data'; data: Buffer } | { type: 'end'; end: ConsoleEnd };

/** Splits the bytes ferryd sends back into frames, however they were cut on the way. */
export class ConsoleFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ConsoleFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: ConsoleFrame[] = [];
    while (this.pending.length >= HEADER) {
      const type = this.pending.readUInt8(0);
      const length = this.pending.readUInt32BE(1);
      if ((type !== DATA && type !== END) || length > MAX_FRAME) {
        throw new RangeError(`not a console frame (type ${type}, length ${length})`);
      }
      if (this.pending.length < HEADER + length) break;
      const payload = this.pending.subarray(HEADER, HEADER + length);
      this.pending = this.pending.subarray(HEADER + length);
      frames.push(type === DATA ? { type: 'data', data: Buffer.from(payload) } : { type: 'end', end: parseEnd(payload) });
    }
    return frames;
  }

  /** Bytes of a frame that has not arrived whole (a stream cut in the middle of one). */
  get partial(): number {
    return this.pending.length;
  }
}

function parseEnd(payload: Buffer): ConsoleEnd {
  const v = JSON.parse(payload.toString('utf8')) as Partial<ConsoleEnd>;
  return { reason: v.reason ?? 'error', message: typeof v.message === 'string' ? v.message : '' };
}
