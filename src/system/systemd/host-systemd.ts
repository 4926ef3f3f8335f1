import { existsSync } from 'node:fs';

/** Whether the host was booted with systemd (sd_booted(3): /run/systemd/system exists). */
export function systemdBooted(exists: (path: string) => boolean = existsSync): boolean {
  return exists('/run/systemd/system');
}

/**
 * Whether this process is a systemd service (systemd sets INVOCATION_ID for every unit it starts) on a
 * systemd host: then its companions (ferry-lockd) are units of their own, never children of ferryd,
 * which would put them in ferryd's cgroup and have systemd stop them with it.
 */
export function runsAsSystemdService(env: NodeJS.ProcessEnv = process.env, exists: (path: string) => boolean = existsSync): boolean {
  return (env.INVOCATION_ID ?? '') !== '' && systemdBooted(exists);
}

/**
 * sd_listen_fds(3): the sockets systemd passed (fd 3, 4, ...) when LISTEN_PID is this process; the
 * variables are removed so that children do not take them for theirs.
 */
export function listenFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number[] {
  const n = Number(env.LISTEN_FDS ?? '0');
  const forUs = Number(env.LISTEN_PID ?? '0') === pid;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forUs || !Number.isInteger(n) || n <= 0) return [];
  return Array.from({ length: n }, (_, i) => 3 + i);
}
