import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ConsoleFrameReader } from '../shared/console-protocol.js';
import { ConsoleSession } from './console-session.js';

/** Both ends of a real unix socket connection. */
async function socketPair(path: string): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.createConnection({ path });
  await new Promise((resolve) => client.once('connect', resolve));
  const other = await accepted;
  server.close();
  return [client, other];
}

/** Byte i of the guest's output: a pattern that shows a lost, repeated or reordered byte. */
const PATTERN = Buffer.from(Array.from({ length: 251 * 300 }, (_, i) => i % 251));
const pattern = (from: number, length: number): Buffer => PATTERN.subarray(from % 251, (from % 251) + length);

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !fn(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(fn(), what);
}

describe('ConsoleSession', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-console-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the guest only as fast as a slow client takes it, and loses nothing once it reads', async () => {
    const [guest, qemu] = await socketPair(join(dir, 'guest.sock'));
    const [client, cli] = await socketPair(join(dir, 'client.sock'));
    cli.pause(); // the client does not read at first
    const session = new ConsoleSession({ guest, log: pino({ level: 'silent' }), onGuestGone: () => undefined });
    session.attach(client, Buffer.alloc(0));
    let buffered = 0;
    guest.on('data', () => (buffered = Math.max(buffered, client.writableLength)));

    const total = 8 * 1024 * 1024;
    let written = 0;
    let allWritten = false;
    const produce = async (): Promise<void> => {
      while (written < total) {
        const chunk = pattern(written, Math.min(64 * 1024, total - written));
        written += chunk.length;
        if (!qemu.write(chunk)) await new Promise((r) => qemu.once('drain', r));
      }
      allWritten = true;
    };
    void produce();

    await until('the guest is held back or wrote everything', () => (guest.isPaused() && written > 0) || allWritten);
    assert.ok(guest.isPaused(), 'the session stops reading the guest while the client does not read');
    const readWhilePaused = guest.bytesRead;
    assert.ok(readWhilePaused < total / 4, `ferryd read ${readWhilePaused} bytes of the guest for a client that reads nothing`);

    const reader = new ConsoleFrameReader();
    let received = 0;
    let intact = true;
    cli.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f.type !== 'data') continue;
        if (!f.data.equals(pattern(received, f.data.length))) intact = false;
        received += f.data.length;
      }
    });
    cli.resume();
    await until('every byte reaches the client', () => received === total);
    assert.ok(intact, 'the bytes arrived as the guest wrote them');
    assert.ok(buffered <= 256 * 1024, `ferryd buffered up to ${buffered} bytes for the client`);

    session.end({ reason: 'stopped', message: "domain 'v' shut off (destroyed)" });
    const last = await new Promise<unknown>((resolve) => {
      cli.removeAllListeners('data');
      cli.on('data', (chunk: Buffer) => {
        for (const f of reader.push(chunk)) if (f.type === 'end') resolve(f.end);
      });
    });
    assert.deepEqual(last, { reason: 'stopped', message: "domain 'v' shut off (destroyed)" });
    await new Promise((r) => qemu.once('close', r));
    cli.destroy();
  });

  it('passes keystrokes to the guest, and a client that leaves ends the session', async () => {
    const [guest, qemu] = await socketPair(join(dir, 'guest2.sock'));
    const [client, cli] = await socketPair(join(dir, 'client2.sock'));
    const session = new ConsoleSession({ guest, log: pino({ level: 'silent' }), onGuestGone: () => undefined });
    session.attach(client, Buffer.from('typed early;'));
    let typed = '';
    qemu.on('data', (c: Buffer) => (typed += c.toString()));
    cli.end('echo hi\r');
    assert.equal((await session.done).reason, 'closed');
    await new Promise((r) => qemu.once('close', r));
    assert.equal(typed, 'typed early;echo hi\r');
  });
});
