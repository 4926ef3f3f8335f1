import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';

/** A read-only HTTP server for one file on loopback, with the HEAD and Range requests QEMU's curl driver makes. */
export async function serveFileOverHttp(path: string): Promise<{ server: Server; port: number }> {
  const size = statSync(path).size;
  const server = createServer((req, res) => {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!range) {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
      if (req.method === 'HEAD') return void res.end();
      return void createReadStream(path).pipe(res);
    }
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), size - 1);
    res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`, 'accept-ranges': 'bytes' });
    createReadStream(path, { start, end }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * qemu-nbd serving a raw image as export `name` on a loopback port, to several clients (a migration's two QEMUs), until killed.
 * `tlsDir`: only over TLS, with the server certificate there (ca-cert.pem, server-cert.pem, server-key.pem), clients' certificates verified.
 */
export async function serveFileOverNbd(path: string, name: string, o: { tlsDir?: string } = {}): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const tls = o.tlsDir === undefined ? [] : ['--object', `tls-creds-x509,id=tls0,dir=${o.tlsDir},endpoint=server,verify-peer=on`, '--tls-creds', 'tls0'];
  const proc = spawn('qemu-nbd', [...tls, '-f', 'raw', '-b', '127.0.0.1', '-p', String(port), '-t', '-e', '4', '-x', name, path], { stdio: 'ignore' });
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`qemu-nbd exited (${proc.exitCode})`);
    if (await canConnect(port)) return { proc, port };
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function qemuImg(...args: string[]): void {
  execFileSync('qemu-img', args, { stdio: 'ignore' });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
