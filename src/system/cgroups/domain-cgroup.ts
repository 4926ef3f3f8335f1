import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../errors/ferry-error.js';
import type { CgroupLayout } from './layout.js';

/** Which controllers a domain's cgroup needs. */
export interface CgroupParts {
  cpu: boolean;
  io: boolean;
  memory: boolean;
}

/** The directory under each hierarchy's root that holds ferry's domain cgroups (libvirt's machine.slice). */
export const FERRY_PARENT = 'ferry';

/**
 * One domain's cgroup, as libvirt lays it out (src/qemu/qemu_cgroup.c): a
 * directory per domain holding the domain-wide settings (CPU weight, I/O),
 * with children `emulator`, `vcpuN` and `iothreadN` for the per-thread CPU
 * bandwidth. On cgroup v1 the CPU part lives in the cpu hierarchy and the I/O
 * part in blkio; on v2 one directory has both, its children threaded
 * (cgroup.type) so that single threads can be placed.
 */
export class DomainCgroup {
  private constructor(
    readonly layout: CgroupLayout,
    /** The domain's directory in the hierarchy holding the cpu controller (undefined: none). */
    readonly cpuDir: string | undefined,
    /** The domain's directory in the hierarchy holding the blkio/io controller (undefined: none). */
    readonly ioDir: string | undefined,
    /** The domain's directory in the hierarchy holding the memory controller (undefined: none). */
    readonly memDir: string | undefined,
    /**
     * Under systemd: the VM's scope directory (relative to each hierarchy's root), which systemd owns and
     * ferry never creates nor removes; the domain's cgroup is its `ferry` child, as libvirt's nested cgroup.
     */
    readonly scope?: string,
  ) {}

  /**
   * The domain's cgroup inside its machine.slice scope (systemd made it, Delegate=yes): `<scope>/ferry`,
   * the same path in every v1 hierarchy or once in v2. `procCgroup` is /proc/PID/cgroup of the QEMU;
   * undefined when it is in no machine scope (no systemd: then at() applies).
   */
  static inScope(layout: CgroupLayout, procCgroup: string): DomainCgroup | undefined {
    const scope = scopePathOf(procCgroup);
    if (!scope) return undefined;
    if (layout.version === 2) {
      const dir = join(layout.root, scope, FERRY_PARENT);
      return new DomainCgroup(layout, dir, dir, dir, scope);
    }
    // v1: each hierarchy has its own line; systemd realizes the scope in each (Delegate=yes). A hierarchy
    // that does not show it (not realized yet) takes the scope's path from the others.
    const lines = procCgroup
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ controllers: (l.split(':')[1] ?? '').split(','), text: l }));
    const under = (root: string | undefined, controller: string): string | undefined => {
      if (!root) return undefined;
      const own = scopePathOf(lines.find((l) => l.controllers.includes(controller))?.text ?? '');
      return join(root, own ?? scope, FERRY_PARENT);
    };
    return new DomainCgroup(layout, under(layout.cpu, 'cpu'), under(layout.blkio, 'blkio'), under(layout.memory, 'memory'), scope);
  }

  /** The cgroup of a domain named `name` (not created). */
  static at(layout: CgroupLayout, name: string): DomainCgroup {
    if (layout.version === 2) {
      const dir = join(layout.root, FERRY_PARENT, name);
      return new DomainCgroup(layout, dir, dir, dir);
    }
    const under = (root: string | undefined): string | undefined => root && join(root, FERRY_PARENT, name);
    return new DomainCgroup(layout, under(layout.cpu), under(layout.blkio), under(layout.memory));
  }

  /** Creates the domain's directories and the thread children; `needs` says which controllers must be there. */
  create(children: readonly string[], needs: CgroupParts): void {
    if (needs.cpu && this.cpuDir === undefined) throw unavailable("this host has no cgroup 'cpu' controller mounted");
    if (needs.io && this.ioDir === undefined) throw unavailable("this host has no cgroup 'blkio' controller mounted");
    if (needs.memory && this.memDir === undefined) throw unavailable("this host has no cgroup 'memory' controller mounted");
    try {
      if (this.layout.version === 2) this.createV2(children, needs);
      else {
        for (const dir of [this.cpuDir, this.ioDir, this.memDir]) if (dir) mkdirSync(dir, { recursive: true });
        for (const c of children) if (this.cpuDir) mkdirSync(join(this.cpuDir, c), { recursive: true });
      }
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw failed(`cannot create the domain's cgroup: ${(err as Error).message}`, err);
    }
  }

  private createV2(children: readonly string[], needs: CgroupParts): void {
    const root = (this.layout as { root: string }).root;
    const dir = this.cpuDir as string;
    const want = [needs.cpu ? 'cpu' : undefined, needs.io ? 'io' : undefined, needs.memory ? 'memory' : undefined].filter((c): c is string => c !== undefined);
    if (this.scope !== undefined) {
      // systemd enabled the controllers down to the scope (Delegate=yes); the scope hands them on to
      // `ferry` only once no process is left in it (cgroup v2's no-internal-process rule): QEMU and its
      // helpers move into `ferry` first.
      const scopeDir = join(root, this.scope);
      const have = readFileSync(join(scopeDir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      for (const c of want)
        if (!have.includes(c)) throw unavailable(`the VM's scope ${scopeDir} has no '${c}' controller (cgroup.controllers: ${have.join(' ')})`);
      mkdirSync(dir, { recursive: true });
      for (const pid of readFileSync(join(scopeDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) writeFileSync(join(dir, 'cgroup.procs'), pid);
      enable(scopeDir, want);
    } else {
      const available = readFileSync(join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      for (const c of want)
        if (!available.includes(c))
          throw unavailable(`the unified cgroup hierarchy at ${root} has no '${c}' controller (cgroup.controllers: ${available.join(' ')})`);
      // Each level down to the domain hands the controllers on (cgroup.subtree_control).
      const parent = join(root, FERRY_PARENT);
      mkdirSync(parent, { recursive: true });
      for (const level of [root, parent]) enable(level, want);
      mkdirSync(dir, { recursive: true });
    }
    for (const c of children) {
      mkdirSync(join(dir, c), { recursive: true });
      writeFileSync(join(dir, c, 'cgroup.type'), 'threaded');
    }
    if (needs.cpu && children.length > 0) enable(dir, ['cpu']);
  }

  /** Moves a whole process (all its threads) into the domain: into `emulator` for CPU, the domain itself for I/O and memory (the parts `create` made). */
  addProcess(pid: number, parts: CgroupParts): void {
    const emulator = parts.cpu && this.cpuDir ? join(this.cpuDir, 'emulator') : undefined;
    // On v2 one directory holds all: the process goes to `emulator` when there is one, else to the domain's own.
    const dirs = this.layout.version === 2 ? [emulator ?? this.ioDir] : [emulator, parts.io ? this.ioDir : undefined, parts.memory ? this.memDir : undefined];
    for (const dir of dirs) if (dir) this.write(join(dir, 'cgroup.procs'), String(pid));
  }

  /** Moves one thread into a child (vcpuN, iothreadN, emulator) of the CPU part. */
  addThread(child: string, tid: number): void {
    if (!this.cpuDir) return;
    this.write(join(this.cpuDir, child, this.layout.version === 2 ? 'cgroup.threads' : 'tasks'), String(tid));
  }

  /** The thread ids in a child of the CPU part. */
  threads(child: string): number[] {
    if (!this.cpuDir) return [];
    const text = readFileSync(join(this.cpuDir, child, this.layout.version === 2 ? 'cgroup.threads' : 'tasks'), 'utf8');
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** A file of the CPU part (`child` undefined: the domain's own). */
  cpuFile(child: string | undefined, file: string): string {
    if (!this.cpuDir) throw unavailable("this host has no cgroup 'cpu' controller mounted");
    return child === undefined ? join(this.cpuDir, file) : join(this.cpuDir, child, file);
  }

  /** A file of the memory part. */
  memFile(file: string): string {
    if (!this.memDir) throw unavailable("this host has no cgroup 'memory' controller mounted");
    return join(this.memDir, file);
  }

  /** The pids in the memory part. */
  memProcesses(): number[] {
    return this.read(this.memFile('cgroup.procs')).split('\n').filter(Boolean).map(Number);
  }

  /** A file of the I/O part. */
  ioFile(file: string): string {
    if (!this.ioDir) throw unavailable("this host has no cgroup 'blkio' controller mounted");
    return join(this.ioDir, file);
  }

  /** Writes a control file; a missing file (a setting the kernel does not offer) is CGROUP_UNAVAILABLE. */
  write(path: string, value: string): void {
    if (!existsSync(path)) throw unavailable(`cgroup file ${path} does not exist on this host`);
    try {
      writeFileSync(path, value);
    } catch (err) {
      throw failed(`cannot write '${value}' to ${path}: ${(err as Error).message}`, err);
    }
  }

  read(path: string): string {
    return readFileSync(path, 'utf8').trim();
  }

  /** Removes the domain's directories (children first); what is already gone is fine. Its processes must have exited. */
  remove(): void {
    for (const dir of new Set([this.cpuDir, this.ioDir, this.memDir])) {
      if (!dir || !existsSync(dir)) continue;
      for (const entry of listChildren(dir)) rmdirSync(join(dir, entry));
      rmdirSync(dir);
    }
  }
}

/**
 * Removes the domain cgroups whose QEMU is gone (named qemu-PID-UUID: no /proc/PID), in every hierarchy of
 * `layout`: what a ferryd killed before its QEMU stopped leaves behind. Safe beside other ferryds on the
 * host: a cgroup whose process is dead is nobody's. Returns the names removed; one still busy is left.
 */
export function removeStaleDomainCgroups(layout: CgroupLayout, alive: (pid: number) => boolean = (pid) => existsSync(`/proc/${pid}`)): string[] {
  const roots = layout.version === 2 ? [layout.root] : [layout.cpu, layout.blkio, layout.memory].filter((r): r is string => r !== undefined);
  const removed = new Set<string>();
  for (const root of roots) {
    const parent = join(root, FERRY_PARENT);
    if (!existsSync(parent)) continue;
    for (const name of listChildren(parent)) {
      const pid = /^qemu-(\d+)-/.exec(name)?.[1];
      if (pid === undefined || alive(Number(pid))) continue;
      try {
        const dir = join(parent, name);
        for (const entry of listChildren(dir)) rmdirSync(join(dir, entry));
        rmdirSync(dir);
        removed.add(name);
      } catch {
        // busy or gone meanwhile: the next start tries again
      }
    }
  }
  return [...removed];
}

/** The machine.slice scope path (`/machine.slice/machine-qemu\\x2d1\\x2dweb.scope`) in a /proc/PID/cgroup text, cut at the scope. */
export function scopePathOf(procCgroup: string): string | undefined {
  for (const line of procCgroup.split('\n')) {
    const parts = line.split(':').slice(2).join(':').split('/');
    const i = parts.findIndex((p, k) => p.endsWith('.scope') && k > 0 && parts[k - 1] === 'machine.slice');
    if (i > 0) return parts.slice(0, i + 1).join('/');
  }
  return undefined;
}

function listChildren(dir: string): string[] {
  // Child cgroups are the directories; control files are files.
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}

function enable(dir: string, controllers: readonly string[]): void {
  const on = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/);
  const missing = controllers.filter((c) => !on.includes(c));
  if (missing.length > 0) writeFileSync(join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
}

function unavailable(message: string): FerryError {
  return new FerryError('CGROUP_UNAVAILABLE', message);
}

function failed(message: string, cause: unknown): FerryError {
  return new FerryError('CGROUP_FAILED', message, { cause });
}
