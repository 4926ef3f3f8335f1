import { existsSync, fstatSync } from 'node:fs';
import { Writable } from 'node:stream';
import { encodeJournalRecord, fieldName, type JournalFields } from './journal-record.js';
import { UnixDatagramSocket } from './unix-datagram.js';

/** journald's socket for the native protocol. */
export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/**
 * One field's most bytes. journald takes a datagram up to the socket's send buffer (about 200 KiB by
 * default) and larger entries only through a memfd passed with SCM_RIGHTS; ferryd's entries are
 * short (its biggest, the QEMU command line at debug level, is a few KiB), so a field longer than
 * this is cut (with FERRY_TRUNCATED=1) instead of binding sendmsg and memfd_create for a rare case.
 */
export const MAX_FIELD_BYTES = 48 * 1024;

/** pino's numeric levels to syslog priorities (journald's PRIORITY). */
export function priorityOf(level: number): number {
  if (level >= 60) return 2; // fatal: crit
  if (level >= 50) return 3; // error: err
  if (level >= 40) return 4; // warn: warning
  if (level >= 30) return 6; // info
  return 7; // debug, trace
}

/** ferry's usual log keys and the journal fields they become; any other key becomes FERRY_<KEY>. */
const NAMED: Record<string, string> = {
  vm: 'FERRY_DOMAIN',
  domain: 'FERRY_DOMAIN',
  uuid: 'FERRY_UUID',
  migration: 'FERRY_MIGRATION',
  migrationId: 'FERRY_MIGRATION',
  code: 'FERRY_CODE',
};

/** The journal fields of one pino line (parsed JSON): MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, then ferry's own. */
export function journalFieldsOf(entry: Record<string, unknown>, identifier: string): JournalFields {
  const fields: Array<[string, string]> = [];
  let truncated = false;
  const put = (name: string, value: string): void => {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_FIELD_BYTES) {
      truncated = true;
      value = Buffer.from(value, 'utf8').subarray(0, MAX_FIELD_BYTES).toString('utf8');
    }
    fields.push([name, value]);
  };
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const err = entry.err as { message?: string; code?: string; stack?: string } | undefined;
  const msg = typeof entry.msg === 'string' ? entry.msg : (err?.message ?? '');
  put('MESSAGE', err?.message && msg !== err.message ? `${msg}: ${err.message}` : msg);
  put('PRIORITY', String(priorityOf(level)));
  put('SYSLOG_IDENTIFIER', identifier);
  if (typeof entry.time === 'number') put('SYSLOG_TIMESTAMP', new Date(entry.time).toISOString());
  for (const [key, value] of Object.entries(entry)) {
    if (['level', 'msg', 'time', 'pid', 'hostname', 'host', 'v'].includes(key) || value === undefined) continue;
    if (key === 'err' && err) {
      if (err.code) put('FERRY_CODE', String(err.code));
      if (err.stack) put('FERRY_ERROR_STACK', err.stack);
      continue;
    }
    put(NAMED[key] ?? fieldName('FERRY_', key), typeof value === 'string' ? value : JSON.stringify(value));
  }
  if (truncated) fields.push(['FERRY_TRUNCATED', '1']);
  return fields;
}

/**
 * Whether ferryd should log to the journal: systemd connected its stderr to journald
 * ($JOURNAL_STREAM names that stream's device:inode, and fd 2 still is it), as sd_journal_stream_fd(3)
 * says a program should check. A stderr redirected elsewhere keeps the usual JSON lines.
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env, stat: (fd: number) => { dev: number; ino: number } = fstatSync): boolean {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return false;
  const [dev, ino] = stream.split(':').map(Number);
  try {
    const st = stat(2);
    return st.dev === dev && st.ino === ino;
  } catch {
    return false;
  }
}

/**
 * A pino destination writing each line as a journal entry over the native protocol. When a send fails
 * (journald restarting, EAGAIN) the line goes to stderr as JSON, never lost and never blocking.
 */
export class JournalDestination extends Writable {
  private readonly socket: UnixDatagramSocket;

  constructor(private readonly o: { identifier: string; path?: string; fallback?: (line: string) => void; socket?: UnixDatagramSocket }) {
    super({ decodeStrings: false });
    this.socket = o.socket ?? UnixDatagramSocket.open();
  }

  /** Whether this host's journald listens for native entries. */
  static available(path = JOURNAL_SOCKET): boolean {
    return existsSync(path);
  }

  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.writeLine(line);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.close();
    done(err);
  }

  private writeLine(line: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      entry = { msg: line };
    }
    try {
      this.socket.send(this.o.path ?? JOURNAL_SOCKET, encodeJournalRecord(journalFieldsOf(entry, this.o.identifier)));
    } catch {
      (this.o.fallback ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
    }
  }
}
