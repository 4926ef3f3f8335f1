import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One of libvirt's test domains: its XML and, when libvirt can start it, the QEMU command line libvirt builds. */
export interface LibvirtCase {
  /** The file name without `.x86_64-latest.xml`, e.g. disk-cdrom. */
  name: string;
  xml: string;
  /** The text of NAME.x86_64-latest.args, when there is one. */
  args?: string;
  /** The text of NAME.x86_64-latest.err, when libvirt itself refuses to start the domain. */
  err?: string;
}

const SUFFIX = '.x86_64-latest.xml';

/** The repository's root, from this file's place in dist/test/helpers/conformance or test/helpers/conformance. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** test/fixtures/libvirt-qemuxml (README.md there says where it comes from). */
export function libvirtFixtureDir(): string {
  return join(repoRoot(), 'test', 'fixtures', 'libvirt-qemuxml');
}

export function loadLibvirtCases(dir = libvirtFixtureDir()): LibvirtCase[] {
  const read = (f: string): string | undefined => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : undefined);
  return readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .sort()
    .map((f) => {
      const name = f.slice(0, -SUFFIX.length);
      const c: LibvirtCase = { name, xml: readFileSync(join(dir, f), 'utf8') };
      const args = read(`${name}.x86_64-latest.args`);
      const err = read(`${name}.x86_64-latest.err`);
      if (args !== undefined) c.args = args;
      if (err !== undefined) c.err = err;
      return c;
    });
}

/** The virt-install definitions of the shared fixtures (../shared beside the repository, or $FERRY_SHARED_DIR). */
/** virt-install's own definitions, kept in the repository (test/fixtures/virt-install, copied from the team's shared fixtures). */
export function virtInstallDir(): string {
  return resolve(repoRoot(), 'test', 'fixtures', 'virt-install');
}

export function loadVirtInstallCases(dir = virtInstallDir()): LibvirtCase[] {
  return ['debian11-q35', 'win10-q35'].map((name) => ({ name, xml: readFileSync(join(dir, `${name}.xml`), 'utf8') }));
}
