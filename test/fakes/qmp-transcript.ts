import { readFileSync } from 'node:fs';

/**
 * One line of a QMP transcript (test/fixtures/qmp/*.jsonl), seen from the client's side as libvirt's
 * `.replies` files: `out` was sent to QEMU (a command), `in` came from QEMU (the greeting, a reply),
 * `event` is an asynchronous event from QEMU, `meta` says what was recorded, when and how. `ms` is the
 * time since the connection opened (for reading; replay does not wait on it).
 */
export interface TranscriptLine {
  dir: 'out' | 'in' | 'event' | 'meta';
  ms?: number;
  msg: Record<string, unknown>;
}

/**
 * A recorded command with its reply and the events QEMU sent once it was sent, before the next command
 * (QEMU may send an event before the reply it caused, as MIGRATION 'setup' before migrate's return:
 * replay sends them after the reply).
 */
export interface ReplayStep {
  execute: string;
  arguments: Record<string, unknown> | undefined;
  /** `{ return }` or `{ error }` as QEMU sent it (without the id); undefined when QEMU never answered. */
  reply: { return: unknown } | { error: { class: string; desc: string } } | undefined;
  events: Array<{ event: string; data: Record<string, unknown> }>;
}

export interface Transcript {
  meta: Record<string, unknown>;
  greeting: Record<string, unknown> | undefined;
  /** Events sent before the first command (QEMU sends none before qmp_capabilities). */
  leadingEvents: Array<{ event: string; data: Record<string, unknown> }>;
  steps: ReplayStep[];
}

/** The directory of the recorded transcripts (the same from src/ and from dist/). */
export const TRANSCRIPT_DIR = new URL('../../../test/fixtures/qmp/', import.meta.url);

/** Reads test/fixtures/qmp/NAME.jsonl. */
export function loadTranscript(name: string): Transcript {
  return parseTranscript(readFileSync(new URL(`${name}.jsonl`, TRANSCRIPT_DIR), 'utf8'));
}

export function parseTranscript(text: string): Transcript {
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TranscriptLine);
  const t: Transcript = { meta: {}, greeting: undefined, leadingEvents: [], steps: [] };
  const byId = new Map<string, ReplayStep>();
  let last: ReplayStep | undefined;
  for (const line of lines) {
    const m = line.msg;
    if (line.dir === 'meta') t.meta = { ...t.meta, ...m };
    else if (line.dir === 'out') {
      const step: ReplayStep = { execute: String(m.execute), arguments: m.arguments as Record<string, unknown> | undefined, reply: undefined, events: [] };
      t.steps.push(step);
      if (typeof m.id === 'string') byId.set(m.id, step);
      last = step;
    } else if (line.dir === 'in' && 'QMP' in m) {
      t.greeting = m;
    } else if (line.dir === 'in') {
      const step = typeof m.id === 'string' ? byId.get(m.id) : undefined;
      if (!step) continue;
      step.reply = 'error' in m ? { error: m.error as { class: string; desc: string } } : { return: m.return };
    } else if (line.dir === 'event') {
      const e = { event: String(m.event), data: (m.data ?? {}) as Record<string, unknown> };
      if (last) last.events.push(e);
      else t.leadingEvents.push(e);
    }
  }
  return t;
}
