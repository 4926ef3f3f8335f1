import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';

/** Where a raw request goes: a unix socket, or ferryd's TLS port with a client certificate directory (ca-cert.pem, client-*.pem). */
export type RawTarget = { socketPath: string } | { port: number; pki: string };

export interface RawResponse {
  /** undefined when no HTTP answer came (the connection was refused or closed). */
  status?: number;
  body: string;
  error?: string;
  /** The error code of a ferry error body. */
  code?: string;
}

/**
 * One HTTP request with the path exactly as given (no normalisation: %70eer,
 * //, /./ and /../ reach the server as written), as an attacker's client
 * would send it.
 */
export function rawRequest(
  target: RawTarget,
  o: { method?: string; path: string; body?: unknown; json?: string; headers?: Record<string, string> },
): Promise<RawResponse> {
  const payload = o.json ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  const headers = { ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...o.headers };
  return new Promise((resolve) => {
    const done = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, body, ...(code ? { code } : {}) });
      });
    };
    const common = { method: o.method ?? 'GET', path: o.path, headers, agent: false as const };
    const req =
      'socketPath' in target
        ? http.request({ ...common, socketPath: target.socketPath }, done)
        : https.request(
            {
              ...common,
              host: '127.0.0.1',
              port: target.port,
              servername: 'localhost',
              ca: readFileSync(`${target.pki}/ca-cert.pem`),
              cert: readFileSync(`${target.pki}/client-cert.pem`),
              key: readFileSync(`${target.pki}/client-key.pem`),
            },
            done,
          );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ body: '', error: err.code ?? err.message }));
    req.end(payload);
  });
}
