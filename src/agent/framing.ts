/** One line the guest agent sent: its text, its JSON value when it parses, and whether it followed a 0xFF sentinel. */
export interface AgentFrame {
  text: string;
  value: unknown;
  /** The line came right after the 0xFF that qemu-ga writes before its guest-sync-delimited reply. */
  delimited: boolean;
}

const SENTINEL = 0xff;
const NEWLINE = 0x0a;
/** A line longer than this is not qemu-ga's (its biggest replies, guest-get-fsinfo on a large guest, are far smaller). */
const MAX_LINE = 16 * 1024 * 1024;

/**
 * Splits the guest agent's byte stream into lines of JSON. qemu-ga's protocol is one JSON
 * object per line; the one binary byte is 0xFF, which qemu-ga writes before its reply to
 * guest-sync-delimited (and the client writes before that command, to reset qemu-ga's
 * parser). A 0xFF ends whatever partial line came before it (leftovers of an earlier
 * client or of a command that timed out), and the line after it is marked delimited.
 */
export class AgentFramer {
  private chunks: Buffer[] = [];
  private length = 0;
  private afterSentinel = false;

  /** Feeds bytes; returns the complete lines in order (blank lines skipped). */
  push(chunk: Buffer): AgentFrame[] {
    const frames: AgentFrame[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === SENTINEL) {
        // A sentinel ends whatever came before it, line or not.
        this.chunks = [];
        this.length = 0;
        start = i + 1;
        this.afterSentinel = true;
      } else if (byte === NEWLINE) {
        this.append(chunk.subarray(start, i));
        start = i + 1;
        const frame = this.takeLine();
        if (frame) frames.push(frame);
      }
    }
    this.append(chunk.subarray(start));
    if (this.length > MAX_LINE) {
      this.chunks = [];
      this.length = 0;
      throw new RangeError(`guest agent line longer than ${MAX_LINE} bytes`);
    }
    return frames;
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.chunks.push(part);
    this.length += part.length;
  }

  private takeLine(): AgentFrame | undefined {
    const text = Buffer.concat(this.chunks, this.length).toString('utf8').trim();
    this.chunks = [];
    this.length = 0;
    const delimited = this.afterSentinel;
    if (text === '') return undefined;
    this.afterSentinel = false;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    return { text, value, delimited };
  }
}
