import http from 'node:http';

export interface RawReply {
  status: number;
  /** The reply's JSON, or its text when it is not JSON. */
  body: unknown;
}

/**
 * One plain HTTP request over a unix socket, with only the headers given:
 * what any local program can send, without the ferry CLI's own headers.
 */
export function requestOverUnix(
  socket: string,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const headers = {
      ...(options.body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) } : {}),
      ...options.headers,
    };
    const req = http.request({ socketPath: socket, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
