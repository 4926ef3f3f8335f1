import http from 'node:http';
import https from 'node:https';
import { type ConnectionTarget, describeTarget } from './connection-uri.js';
import { SshTunnel } from './ssh-tunnel.js';
import type { TlsMaterial } from './tls-material.js';

/** How to open HTTP connections to one ferryd: the request options for node's http or https module. */
export interface Endpoint {
  readonly target: ConnectionTarget;
  /** socket path or host:port, for messages. */
  readonly describe: string;
  requestOptions(): Promise<{ secure: boolean; options: http.RequestOptions & https.RequestOptions }>;
  /** Releases what the endpoint holds (an ssh tunnel). */
  close(): void;
}

export interface EndpointOptions {
  /** The certificates to present over TLS; read only when a TLS connection is made. */
  tls?: () => TlsMaterial;
  /** The ssh client to run for ssh URIs. */
  sshBinary?: string;
  /**
   * Keep connections open between requests (a daemon's peers: a migration
   * makes several calls, and each TLS handshake costs milliseconds). Idle
   * connections close after this many ms, well before the server's own
   * keep-alive timeout (fastify: 72 s). Without it every request has its own
   * connection (the CLI: one process, a few requests).
   */
  keepAliveMs?: number;
}

/** The endpoint for a parsed URI: unix socket, plain TCP, mutual TLS, or a unix socket reached through ssh. */
export function endpointFor(target: ConnectionTarget, o: EndpointOptions = {}): Endpoint {
  const secure = target.transport === 'tls';
  const agent = o.keepAliveMs ? new (secure ? https.Agent : http.Agent)({ keepAlive: true, timeout: o.keepAliveMs }) : undefined;
  const withAgent = <T extends object>(options: T): T & { agent?: http.Agent } => (agent ? { ...options, agent } : options);
  const base = ((): Endpoint => {
    switch (target.transport) {
      case 'unix':
        return fixed(target, false, withAgent({ socketPath: target.socket }));
      case 'tcp':
        return fixed(target, false, withAgent({ host: target.host as string, port: target.port as number }));
      case 'tls': {
        const material = o.tls;
        return {
          target,
          describe: describeTarget(target),
          async requestOptions() {
            if (!material) throw new Error('no TLS certificates configured');
            // Read for each request, so renewed certificates count at once; the agent keeps
            // connections made with the same certificates together, so a renewal opens new ones.
            const m = material();
            const sni = sniName(target.host as string);
            return {
              secure: true,
              options: withAgent({
                host: target.host as string,
                port: target.port as number,
                ca: m.ca,
                cert: m.cert,
                key: m.key,
                ...(sni ? { servername: sni } : {}),
              }),
            };
          },
          close() {},
        };
      }
      case 'ssh':
        return sshEndpoint(target, o.sshBinary, withAgent);
    }
  })();
  if (!agent) return base;
  return {
    ...base,
    requestOptions: () => base.requestOptions(),
    close() {
      agent.destroy();
      base.close();
    },
  };
}

function fixed(target: ConnectionTarget, secure: boolean, options: http.RequestOptions): Endpoint {
  return { target, describe: describeTarget(target), requestOptions: async () => ({ secure, options }), close() {} };
}

/** One tunnel per endpoint, opened on first use and reopened if ssh went away. */
function sshEndpoint(target: ConnectionTarget, sshBinary: string | undefined, withAgent: <T extends object>(o: T) => T): Endpoint {
  let tunnel: Promise<SshTunnel> | undefined;
  return {
    target,
    describe: describeTarget(target),
    async requestOptions() {
      const current = tunnel ? await tunnel.catch(() => undefined) : undefined;
      if (!current || !current.alive) {
        tunnel = SshTunnel.open({
          host: target.host as string,
          remoteSocket: target.socket,
          ...(target.port ? { port: target.port } : {}),
          ...(target.user ? { user: target.user } : {}),
          ...(target.keyFile ? { keyFile: target.keyFile } : {}),
          ...(target.knownHosts ? { knownHosts: target.knownHosts } : {}),
          ...(target.noVerify ? { noVerify: true } : {}),
          ...(sshBinary ? { sshBinary } : {}),
        });
      }
      const t = await (tunnel as Promise<SshTunnel>);
      return { secure: false, options: withAgent({ socketPath: t.localSocket }) };
    },
    close() {
      void tunnel?.then((t) => t.close()).catch(() => undefined);
      tunnel = undefined;
    },
  };
}

/** SNI carries host names only, never addresses. */
function sniName(host: string): string | undefined {
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}
