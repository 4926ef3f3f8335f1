import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { freePort } from './two-hosts.js';

/** A real etcd (Debian's etcd-server) on loopback, for the etcd lock backend's tests. */
export class EtcdServer {
  private child: ChildProcess | undefined;
  endpoint = '';

  constructor(private readonly dataDir: string) {}

  async start(): Promise<this> {
    const [client, peer] = [await freePort(), await freePort()];
    this.endpoint = `http://127.0.0.1:${client}`;
    this.child = spawn(
      'etcd',
      [
        '--name',
        'ferry-test',
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        this.endpoint,
        '--advertise-client-urls',
        this.endpoint,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `ferry-test=http://127.0.0.1:${peer}`,
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    this.child.stderr?.on('data', (d) => (err += d));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (await this.healthy()) return this;
      if (this.child.exitCode !== null) throw new Error(`etcd exited: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd did not become healthy: ${err}`);
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }

  /** A network partition, as its clients see it: etcd stops answering (SIGSTOP) but their connections stay open. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  private healthy(): Promise<boolean> {
    return new Promise((resolve) => {
      http
        .get(`${this.endpoint}/health`, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(/"health":\s*"true"/.test(body)));
        })
        .on('error', () => resolve(false));
    });
  }
}
