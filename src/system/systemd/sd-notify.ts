import { UnixDatagramSocket } from './unix-datagram.js';

/**
 * sd_notify(3)'s protocol: newline-separated KEY=VALUE assignments (READY=1, STATUS=..., STOPPING=1) in one
 * datagram to the socket named by $NOTIFY_SOCKET, which systemd sets for a Type=notify service. Without
 * the variable (not run by systemd) every call does nothing, as sd_notify does.
 */
export class SdNotifier {
  private socket: UnixDatagramSocket | undefined;

  constructor(
    private readonly address: string | undefined = process.env.NOTIFY_SOCKET,
    private readonly open: () => UnixDatagramSocket = () => UnixDatagramSocket.open(),
  ) {}

  /** Whether a service manager listens (NOTIFY_SOCKET was set). */
  get enabled(): boolean {
    return this.address !== undefined && this.address !== '';
  }

  /** Sends `fields` (READY: '1', STATUS: 'text'); false when nobody listens. A send failure throws (the caller logs it). */
  notify(fields: Record<string, string | number>): boolean {
    if (!this.enabled) return false;
    this.socket ??= this.open();
    this.socket.send(this.address as string, Buffer.from(notifyMessage(fields), 'utf8'));
    return true;
  }

  ready(status: string): boolean {
    return this.notify({ READY: 1, STATUS: status, MAINPID: process.pid });
  }

  status(status: string): boolean {
    return this.notify({ STATUS: status });
  }

  stopping(status: string): boolean {
    return this.notify({ STOPPING: 1, STATUS: status });
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}

/** The datagram's text: one KEY=VALUE per line; a newline inside a value would start another assignment, so it becomes a space. */
export function notifyMessage(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`)
    .join('\n');
}
