import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { promisify } from 'node:util';
import { FerryError } from '../errors/ferry-error.js';
import { stderrOf } from './tap.js';

const run = promisify(execFile);

/**
 * Runs a type='ethernet' interface's <script> (or <downscript>) with the tap's
 * name as its only argument, as libvirt does (virNetDevRunEthernetScript):
 * as root, with an empty environment but PATH. Because whoever may define a
 * domain would otherwise choose what root runs, ferryd runs only a script
 * that root alone could have put there: an absolute path to an executable
 * regular file owned by root and writable by nobody else, in directories
 * nobody else can change.
 */
export async function runInterfaceScript(path: string, ifname: string, options: { timeoutMs?: number } = {}): Promise<void> {
  checkScript(path);
  try {
    await run(path, [ifname], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: options.timeoutMs ?? 30_000 });
  } catch (err) {
    throw new FerryError('NET_SCRIPT_FAILED', `Interface script ${path} ${ifname} failed: ${stderrOf(err)}`, { cause: err, details: { path } });
  }
}

function checkScript(path: string): void {
  const refuse = (why: string): never => {
    throw new FerryError('NET_SCRIPT_FAILED', `Refusing to run interface script '${path}': ${why}`, { details: { path } });
  };
  if (!isAbsolute(path)) refuse('the path is not absolute');
  let st;
  try {
    st = statSync(path);
  } catch {
    return refuse('no such file');
  }
  if (!st.isFile()) refuse('not a regular file');
  if (st.uid !== 0) refuse('not owned by root');
  if ((st.mode & 0o022) !== 0) refuse('writable by its group or by others');
  if ((st.mode & 0o100) === 0) refuse('not executable');
  // Nor may anyone else swap it: every directory above is root's, and writable by others only if sticky (/tmp).
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const d = statSync(dir);
    if (d.uid !== 0) refuse(`directory ${dir} is not owned by root`);
    if ((d.mode & 0o022) !== 0 && (d.mode & 0o1000) === 0) refuse(`directory ${dir} is writable by others`);
    if (dir === '/') break;
  }
}
