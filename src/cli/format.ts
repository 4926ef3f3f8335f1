import { spawnSync } from 'node:child_process';

/**
 * Everything the CLI prints goes through here, in virsh's formats: its tables
 * (vshTable), its "Key:   value" blocks, and its "error: ..." lines.
 */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The terminal as the console uses it: keystrokes in, the guest's bytes out, raw mode when it is a TTY. */
export interface Terminal {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** Raw mode on or off; false when the input is not a terminal (nothing to change). Synchronous: it runs in exit handlers. */
  setRaw(raw: boolean): boolean;
}

/**
 * The process's terminal. Raw as virsh makes it (cfmakeraw): node's raw mode,
 * plus output post-processing off (node keeps it, and a guest's "\n" would
 * reach the screen as "\r\n", which full-screen programs do not expect).
 * Turning it off restores the settings node saved before, all of them. The streams are opened on first use
 * (opening stdin costs every command's start-up a few milliseconds).
 */
export const processTerminal: Terminal = {
  get input() {
    return process.stdin;
  },
  get output() {
    return process.stdout;
  },
  setRaw(raw: boolean): boolean {
    if (!process.stdin.isTTY) return false;
    process.stdin.setRawMode(raw);
    if (raw) spawnSync('stty', ['-opost'], { stdio: [0, 'ignore', 'ignore'] });
    return true;
  },
};

/** virsh's table: a leading space per cell, columns padded with 3 spaces, a dashed rule under the header. */
export function formatTable(header: string[], rows: string[][], options: { header?: boolean } = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `${cells.map((c, i) => ` ${c}${i < cells.length - 1 ? ' '.repeat((widths[i] ?? 0) - c.length + 2) : ''}`).join('')}\n`;
  let text = '';
  if (options.header !== false) {
    text += line(header);
    text += `${'-'.repeat(widths.reduce((a, w) => a + w + 3, 0))}\n`;
  }
  for (const r of rows) text += line(r);
  return text;
}

/** virsh's "Key:   value" blocks (dominfo, nodeinfo), keys padded to a fixed width. */
export function formatFields(fields: Array<[string, string]>, width: number): string {
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}\n`).join('');
}

/** virsh's error lines: one "error: " line per message, then ferry's hint. */
export function formatError(messages: string[], hint?: string, code?: string): string {
  let text = messages.map((m) => `error: ${m}\n`).join('');
  if (hint) text += `hint: ${hint}${code ? ` [${code}]` : ''}\n`;
  return text;
}
