import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type CheckResult, fail, pass } from '../shared/check-result.js';

const run = promisify(execFile);

/**
 * The destination can run the domain's emulated TPM: swtpm is installed and
 * emulates that TPM version (`swtpm socket --print-capabilities`), and
 * swtpm_setup is there for the state's later first starts. Not overridable:
 * without swtpm the destination's QEMU cannot start.
 */
export async function tpmCheck(version: '2.0' | '1.2', hostname: string, tools = { swtpm: 'swtpm', swtpmSetup: 'swtpm_setup' }): Promise<CheckResult> {
  const hint = `Install swtpm and swtpm-tools on ${hostname} (apt-get install swtpm swtpm-tools)`;
  let features: string[];
  try {
    const { stdout } = await run(tools.swtpm, ['socket', '--print-capabilities'], { timeout: 10_000 });
    features = (JSON.parse(stdout) as { features?: string[] }).features ?? [];
  } catch (err) {
    return fail(
      'tpm',
      `the domain has an emulated TPM ${version} and swtpm does not run on ${hostname}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : (err as Error).message}`,
      hint,
    );
  }
  if (!features.includes(`tpm-${version}`)) {
    return fail(
      'tpm',
      `swtpm on ${hostname} does not emulate a TPM ${version} (it has: ${features.filter((f) => f.startsWith('tpm-')).join(', ') || 'none'})`,
      `Install an swtpm built with TPM ${version} support on ${hostname}, or change the domain's <backend version>`,
    );
  }
  try {
    await run(tools.swtpmSetup, ['--print-capabilities'], { timeout: 10_000 });
  } catch {
    return fail('tpm', `swtpm_setup is missing on ${hostname}: the TPM's state could not be made there`, hint);
  }
  return pass('tpm', `swtpm on ${hostname} emulates a TPM ${version}`);
}
