import type { Command } from 'commander';
import { FerryError } from '../../errors/ferry-error.js';
import { CliFailure, connectionFailure } from '../context.js';

/**
 * Runs a network operation and words its failure as virsh does: "failed to
 * get network 'x'" when it does not exist, else `failure` ("Failed to start
 * network x") followed by the reason.
 */
export async function netOp<T>(network: string, failure: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError) {
      if (err.code === 'CONNECT_FAILED') throw connectionFailure(err);
      if (err.code === 'NET_NOT_FOUND' && err.details.network === network)
        throw new CliFailure([`failed to get network '${network}'`, err.message], err.hint, err.code);
      throw new CliFailure(failure ? [failure, err.message] : [err.message], err.hint, err.code);
    }
    throw err;
  }
}

/** The network argument: positional, or --network as virsh also accepts. */
export function networkArg(positional: string | undefined, opts: { network?: string }): string {
  const n = positional ?? opts.network;
  if (!n) throw new CliFailure(["command requires the option '--network'"], 'Name the network by name or uuid', 'INVALID_ARGUMENT');
  return n;
}

export function withNetwork(cmd: Command): Command {
  return cmd.argument('[network]', 'network name or uuid').option('--network <network>', 'network name or uuid');
}
