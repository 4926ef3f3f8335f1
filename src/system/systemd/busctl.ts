import { execFile } from 'node:child_process';

/**
 * Calls a D-Bus method with `busctl call` (systemd's own client, in Debian's systemd package on every host
 * this code runs on): no D-Bus library in ferryd, the marshalling is systemd's, and a failed call says
 * why in busctl's words. Arguments are busctl's: the signature then the values, flattened.
 */
export type BusCall = (
  service: string,
  path: string,
  iface: string,
  method: string,
  signature: string,
  args: ReadonlyArray<string | number | boolean>,
) => Promise<string>;

/** A D-Bus call that failed: busctl's message (e.g. "Unknown method CreateMachineWithNetwork ..."). */
export class BusCallError extends Error {
  constructor(
    readonly method: string,
    readonly detail: string,
  ) {
    super(`${method}: ${detail}`);
  }
}

export function busctlCall(binary = 'busctl', timeoutSec = 25): BusCall {
  return (service, path, iface, method, signature, args) =>
    new Promise((resolve, reject) => {
      const argv = ['--system', '--quiet', `--timeout=${timeoutSec}`, 'call', service, path, iface, method, signature, ...args.map(String)];
      execFile(binary, argv, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } }, (err, stdout, stderr) => {
        if (err) reject(new BusCallError(method, (stderr || err.message).trim()));
        else resolve(stdout.trim());
      });
    });
}
