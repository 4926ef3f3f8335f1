import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpReplyParser } from './http-reply-parser.js';

const feedAll = (parts: string[]): ReturnType<HttpReplyParser['feed']> => {
  const p = new HttpReplyParser();
  let reply;
  for (const part of parts) reply = p.feed(Buffer.from(part, 'latin1')) ?? reply;
  return reply;
};

describe('HttpReplyParser', () => {
  it('a Content-Length reply, whole as soon as its last byte comes, whatever the split', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new HttpReplyParser();
      assert.equal(p.feed(Buffer.from(text.slice(0, cut))), undefined, `incomplete at ${cut}`);
      const reply = p.feed(Buffer.from(text.slice(cut)));
      assert.ok(reply, `complete after cut ${cut}`);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.equal(reply.body.toString(), '{"ok":true}');
    }
  });

  it('a chunked reply, with chunk extensions and split inside a size line', () => {
    const reply = feedAll(['HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhel', 'lo\r\n', '6\r\n world\r\n0', '\r\n\r\n']);
    assert.equal(reply?.status, 404);
    assert.equal(reply?.body.toString(), 'hello world');
  });

  it('a reply framed by the end of the connection', () => {
    const p = new HttpReplyParser();
    assert.equal(p.feed(Buffer.from('HTTP/1.0 200 OK\r\n\r\npart one, ')), undefined);
    assert.equal(p.feed(Buffer.from('part two')), undefined);
    assert.equal(p.end().body.toString(), 'part one, part two');
  });

  it('204 has no body; repeated headers are joined', () => {
    const reply = feedAll(['HTTP/1.1 204 No Content\r\nVary: a\r\nvary: b\r\n\r\n']);
    assert.equal(reply?.body.length, 0);
    assert.equal(reply?.headers.vary, 'a, b');
  });

  it('a connection that closes early is a hang-up (ECONNRESET), as node says it', () => {
    assert.throws(
      () => new HttpReplyParser().end(),
      (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' && /before a reply/.test(e.message),
    );
    const headers = new HttpReplyParser();
    headers.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Le'));
    assert.throws(() => headers.end(), /in the middle of the reply headers/);
    const body = new HttpReplyParser();
    body.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345'));
    assert.throws(() => body.end(), /in the middle of the reply body/);
    const chunked = new HttpReplyParser();
    chunked.feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'));
    assert.throws(() => chunked.end(), /in the middle of the reply body/);
  });

  it('what is not HTTP/1.1 is refused with a coded error', () => {
    assert.throws(
      () => feedAll(['SSH-2.0-OpenSSH_9.2\r\n\r\n']),
      (e: NodeJS.ErrnoException) => e.code === 'HPE_INVALID' && /status line/.test(e.message),
    );
    assert.throws(() => feedAll(['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n']), /bad header line/);
    assert.throws(() => feedAll(['HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n']), /bad Content-Length/);
    assert.throws(() => feedAll(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']), /bad chunk size/);
  });
});
