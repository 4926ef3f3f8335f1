import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FerryError } from '../errors/ferry-error.js';

const run = promisify(execFile);

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
}

export interface QemuMachineType {
  name: string;
  /** For an alias (q35), the versioned machine it stands for (pc-q35-10.0). */
  aliasOf?: string;
  isDefault: boolean;
}

export interface QemuBinaryInfo {
  path: string;
  version: QemuVersion;
  /** The distribution's package string, e.g. "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1". */
  package: string;
  machines: QemuMachineType[];
}

export const MIN_QEMU_VERSION: QemuVersion = { major: 7, minor: 2, micro: 0 };

export function formatVersion(v: QemuVersion): string {
  return `${v.major}.${v.minor}.${v.micro}`;
}

export function compareVersions(a: QemuVersion, b: QemuVersion): number {
  return a.major - b.major || a.minor - b.minor || a.micro - b.micro;
}

/** Parses the first line of `qemu-system-x86_64 -version`. */
export function parseVersionOutput(text: string): { version: QemuVersion; package: string } | undefined {
  const m = /QEMU emulator version (\d+)\.(\d+)(?:\.(\d+))?(?:\s*\(([^)]*)\))?/.exec(text);
  if (!m) return undefined;
  return {
    version: { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3] ?? 0) },
    package: m[4] ?? '',
  };
}

/** Parses `qemu-system-x86_64 -machine help`. */
export function parseMachineHelp(text: string): QemuMachineType[] {
  const machines: QemuMachineType[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m || m[1] === 'Supported') continue;
    const alias = /\(alias of ([^)]+)\)/.exec(m[2] ?? '');
    const machine: QemuMachineType = { name: m[1] as string, isDefault: /\(default\)/.test(m[2] ?? '') };
    if (alias) machine.aliasOf = alias[1] as string;
    machines.push(machine);
  }
  return machines;
}

/** Asks a QEMU binary for its version and machine types; refuses versions older than 7.2. */
export async function probeQemuBinary(path: string): Promise<QemuBinaryInfo> {
  let versionOut: string;
  let machinesOut: string;
  try {
    [{ stdout: versionOut }, { stdout: machinesOut }] = await Promise.all([
      run(path, ['-version'], { timeout: 10_000 }),
      run(path, ['-machine', 'help'], { timeout: 10_000 }),
    ]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') {
      throw new FerryError('QEMU_BINARY_MISSING', `Cannot find QEMU binary ${path}: ${code === 'ENOENT' ? 'No such file or directory' : 'Permission denied'}`, {
        cause: err,
      });
    }
    throw new FerryError('QEMU_LAUNCH_FAILED', `QEMU binary ${path} failed to report its version: ${(err as Error).message}`, { cause: err });
  }
  const parsed = parseVersionOutput(versionOut);
  if (!parsed) throw new FerryError('QEMU_LAUNCH_FAILED', `cannot parse the version of ${path}: ${versionOut.split('\n')[0]}`);
  if (compareVersions(parsed.version, MIN_QEMU_VERSION) < 0) {
    throw new FerryError(
      'QEMU_VERSION_UNSUPPORTED',
      `QEMU ${formatVersion(parsed.version)} at ${path} is too old: ferry needs ${formatVersion(MIN_QEMU_VERSION)} or later`,
    );
  }
  return { path, version: parsed.version, package: parsed.package, machines: parseMachineHelp(machinesOut) };
}

/**
 * The versioned machine type to store for a definition: aliases (q35, pc) are
 * expanded, so a VM keeps its machine across QEMU upgrades and migrations.
 */
export function resolveMachineType(info: QemuBinaryInfo, requested: string | undefined): string | undefined {
  // None requested: QEMU's own default (pc, i440FX on x86), as libvirt and vm/machine-family.ts take it, so the
  // default devices chosen for the definition (a pci-root, not a pcie-root) fit the machine stored.
  const m = requested === undefined ? info.machines.find((x) => x.isDefault) : info.machines.find((x) => x.name === requested);
  if (!m) return undefined;
  return m.aliasOf ?? m.name;
}

/** The named CPU models a QEMU binary knows (`-cpu help`). */
export async function probeCpuModels(path: string): Promise<string[]> {
  const { stdout } = await run(path, ['-cpu', 'help'], { timeout: 10_000 });
  return parseCpuHelp(stdout);
}

/**
 * Parses `-cpu help`: the model list under "Available CPUs:", up to the
 * blank line before "Recognized CPUID flags:". QEMU 7.2 starts each model
 * line with "x86 ", later versions indent it with two spaces.
 */
export function parseCpuHelp(stdout: string): string[] {
  const models: string[] = [];
  let inList = false;
  for (const line of stdout.split('\n')) {
    if (/^Available CPUs:/.test(line)) {
      inList = true;
      continue;
    }
    if (!inList) continue;
    if (line.trim() === '' || /^\S.*:\s*$/.test(line)) break;
    const m = /^(?:x86\s+|\s+)(\S+)/.exec(line);
    if (m) models.push(m[1] as string);
  }
  return models;
}
