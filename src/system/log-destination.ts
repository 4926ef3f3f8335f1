import { pino } from 'pino';
import { JournalDestination, stderrIsJournal } from './systemd/journal-destination.js';

/**
 * Where ferryd's (and ferry-lockd's) log lines go: to journald with fields (MESSAGE, PRIORITY,
 * SYSLOG_IDENTIFIER, FERRY_DOMAIN, ...) when systemd connected stderr to the journal; else JSON on stderr.
 */
export function logDestination(identifier: string, env: NodeJS.ProcessEnv = process.env): pino.DestinationStream {
  if (stderrIsJournal(env) && JournalDestination.available()) {
    try {
      return new JournalDestination({ identifier });
    } catch {
      // No libc socket (never on Linux): stderr still reaches the journal, as plain lines.
    }
  }
  return pino.destination(2);
}
