import { FerryError } from '../errors/ferry-error.js';
import { readonlySocketOf } from '../transport/connection-uri.js';
import { endpointFor } from '../transport/endpoint.js';
import { defaultClientPkiDir, loadTlsMaterial } from '../transport/tls-material.js';
import { ApiClient } from './api-client.js';
import { type Output, processTerminal, type Terminal } from './format.js';
import { chooseUri, parseUri } from './uri.js';

/** A failure to report the virsh way: its "error:" lines, then ferry's hint. */
export class CliFailure extends Error {
  constructor(
    readonly messages: string[],
    readonly hint?: string,
    readonly code?: string,
  ) {
    super(messages.join('; '));
  }
}

/** What every command gets: the connection (made on first use) and the output. */
export class CliContext {
  private client_: ApiClient | undefined;
  connectUri: string | undefined;
  quiet = false;
  readonly = false;

  constructor(
    readonly output: Output,
    readonly env: NodeJS.ProcessEnv = process.env,
    readonly terminal: Terminal = processTerminal,
  ) {}

  /** -c, FERRY_DEFAULT_URI, the client config files, or the built-in default, with aliases expanded. */
  get uri(): string {
    return chooseUri({ ...(this.connectUri ? { connect: this.connectUri } : {}), env: this.env, readonly: this.readonly }).uri;
  }

  client(): ApiClient {
    if (!this.client_) {
      try {
        const target = parseUri(this.uri);
        // -r without an explicit socket goes to the read-only socket, as virsh -r does.
        if (this.readonly && (target.transport === 'unix' || target.transport === 'ssh') && !target.socketGiven)
          target.socket = readonlySocketOf(target.socket);
        const pkiDir = target.pkiPath ?? defaultClientPkiDir(this.env);
        this.client_ = new ApiClient(endpointFor(target, { tls: () => loadTlsMaterial(pkiDir, 'client') }), { readonly: this.readonly });
      } catch (err) {
        throw connectionFailure(err);
      }
    }
    return this.client_;
  }

  /** Closes the connection (an ssh tunnel), if one was made. */
  close(): void {
    this.client_?.close();
  }

  /** Prints a line on stdout, unless --quiet. */
  say(line: string): void {
    if (!this.quiet) this.output.out(`${line}\n`);
  }

  /** Prints text on stdout as is. */
  print(text: string): void {
    this.output.out(text);
  }
}

export function connectionFailure(err: unknown): CliFailure {
  if (err instanceof CliFailure) return err;
  const e = err instanceof FerryError ? err : new FerryError('CONNECT_FAILED', String(err));
  // Connected, then cut off mid-call: not a failure to connect (virsh: "Disconnected from ... due to end of file").
  if (e.code === 'CONNECTION_LOST') return new CliFailure([e.message], e.hint, e.code);
  return new CliFailure(['failed to connect to the hypervisor', e.message], e.hint, e.code);
}

/** The domain argument: positional, or --domain as virsh also accepts. */
export function domainArg(positional: string | undefined, opts: { domain?: string }): string {
  const ref = positional ?? opts.domain;
  if (!ref) throw new CliFailure(["command requires the option '--domain'"], 'Name the domain by name, id or uuid');
  return ref;
}

/**
 * Runs a domain operation and words its failure as virsh does:
 * "failed to get domain 'X'" when it does not exist, else
 * "Failed to <verb> domain 'X'" followed by the reason.
 */
export async function domainOp<T>(ref: string, verb: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw domainFailure(err, ref, verb);
  }
}

export function domainFailure(err: unknown, ref: string, verb?: string): CliFailure {
  if (err instanceof CliFailure) return err;
  if (err instanceof FerryError) {
    if (err.code === 'CONNECT_FAILED') return connectionFailure(err);
    if (err.code === 'DOMAIN_NOT_FOUND' && (err.details.domain === undefined || err.details.domain === ref)) {
      return new CliFailure([`failed to get domain '${ref}'`], err.hint, err.code);
    }
    return new CliFailure(verb ? [`Failed to ${verb} domain '${ref}'`, err.message] : [err.message], err.hint, err.code);
  }
  return new CliFailure(verb ? [`Failed to ${verb} domain '${ref}'`, String(err)] : [String(err)]);
}

export const enc = encodeURIComponent;
