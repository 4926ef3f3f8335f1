import { EventEmitter } from 'node:events';
import type { QmpTransport, QmpTransportEvents } from '../../src/qmp/transport.js';

/**
 * A scripted QMP peer for unit tests (python's NullProtocol): it records what
 * the client sends and lets the test push greetings, replies and events.
 */
export class FakeQmpTransport extends EventEmitter<QmpTransportEvents> implements QmpTransport {
  readonly sent: Array<{ execute: string; arguments?: Record<string, unknown>; id: string }> = [];
  /** Replies given by command name; called for each command sent. */
  readonly handlers = new Map<string, (args: Record<string, unknown> | undefined) => unknown>();
  closed = false;
  private readonly waiters: Array<() => void> = [];

  static readonly GREETING = {
    QMP: { version: { qemu: { major: 10, minor: 0, micro: 2 }, package: 'fake' }, capabilities: ['oob'] },
  };

  send(message: object): void {
    const m = message as { execute: string; arguments?: Record<string, unknown>; id: string };
    this.sent.push(m);
    for (const w of this.waiters.splice(0)) w();
    const handler = this.handlers.get(m.execute);
    if (m.execute === 'qmp_capabilities' && !handler) {
      queueMicrotask(() => this.push({ return: {}, id: m.id }));
    } else if (handler) {
      const reply = handler(m.arguments);
      if (reply !== undefined) queueMicrotask(() => this.push({ ...(reply as object), id: m.id }));
    }
  }

  close(): void {
    this.drop(undefined);
  }

  /** Sends a message from the "QEMU" side. */
  push(message: Record<string, unknown>): void {
    if (!this.closed) this.emit('message', message);
  }

  greet(): void {
    this.push(FakeQmpTransport.GREETING);
  }

  event(name: string, data: Record<string, unknown> = {}): void {
    this.push({ event: name, data, timestamp: { seconds: 1, microseconds: 2 } });
  }

  /** The peer goes away. */
  drop(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', err);
  }

  /** Resolves once the client has sent `count` messages in all. */
  async sentCount(count: number): Promise<void> {
    while (this.sent.length < count) await new Promise<void>((r) => this.waiters.push(r));
  }
}
