import { execFile, spawn } from 'node:child_process';
import { isProgram, logTail, pidExists } from '../system/helper-daemon.js';
import type { SecretSource } from './domain-secrets.js';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainDefinition, TpmDefinition } from '../vm/definition.js';
import type { UnixAccount } from '../system/unix-user.js';
import type { HostPaths } from './host-paths.js';

const run = promisify(execFile);

type EmulatorBackend = Extract<TpmDefinition['backend'], { type: 'emulator' }>;

export interface SwtpmDeps {
  paths: HostPaths;
  /** QEMU's account: the data socket is made its own (swtpm itself runs as ferryd's user). */
  account: UnixAccount | undefined;
  log: Logger;
  swtpm?: string;
  swtpmSetup?: string;
  /** The host's secrets: the passphrase of a state with <encryption secret=UUID>. */
  secrets?: SecretSource;
}

/** The emulated TPM of a domain that has one: its backend, else undefined. */
export function emulatedTpm(def: DomainDefinition): EmulatorBackend | undefined {
  const b = def.devices.tpm?.backend;
  return b?.type === 'emulator' ? b : undefined;
}

/**
 * swtpm for the domains with an emulated TPM, as libvirt runs it: one swtpm
 * per running domain, started before QEMU on a socket in the domain's run
 * directory, its state in a directory of the domain's own under ferryd's
 * state directory (swtpm/UUID/tpm2, kept across restarts of the VM and of
 * ferryd), created with swtpm_setup (EK and platform certificates) at the
 * first start. swtpm runs in its own session with --terminate: it ends when
 * QEMU's connection does (QEMU's exit, crash or kill), and stop() ends it
 * when QEMU never connected. Nothing is kept in memory: the pidfile in the run
 * directory finds it again after a ferryd restart.
 */
export class SwtpmRunner {
  constructor(private readonly deps: SwtpmDeps) {}

  /** The domain's TPM state: the <source> it names, else ferryd's swtpm/UUID/tpm2 (or tpm1.2). */
  statePath(def: DomainDefinition, b: EmulatorBackend): { kind: 'dir' | 'file'; path: string } {
    if (b.source) return { kind: b.source.type, path: b.source.path };
    return { kind: 'dir', path: join(this.deps.paths.tpmStateDir(def.uuid), b.version === '2.0' ? 'tpm2' : 'tpm1.2') };
  }

  socket(uuid: string): string {
    return join(this.deps.paths.domainRunDir(uuid), 'swtpm.sock');
  }

  private pidfile(uuid: string): string {
    return join(this.deps.paths.domainRunDir(uuid), 'swtpm.pid');
  }

  /**
   * Starts the domain's swtpm (its run directory must exist) and returns the
   * socket QEMU connects to; undefined when the domain has no emulated TPM.
   * For an incoming migration no state is made: QEMU brings it in the stream.
   */
  async start(def: DomainDefinition, options: { incoming?: boolean } = {}): Promise<string | undefined> {
    const b = emulatedTpm(def);
    if (!b) return undefined;
    const state = this.statePath(def, b);
    const log = this.deps.paths.swtpmLog(def.name);
    const key = this.passphraseFiles(def, b);
    mkdirSync(this.deps.paths.logDir, { recursive: true, mode: 0o711 });
    mkdirSync(state.kind === 'dir' ? state.path : dirname(state.path), { recursive: true, mode: 0o700 });
    try {
      if (!options.incoming && !hasState(state)) await this.setup(def, b, state, log, key?.setup);
      else if (!options.incoming && b.activePcrBanks && b.version === '2.0') {
        // As libvirt: an existing state gets the PCR banks the definition asks for now.
        await this.setupTool(
          [
            '--tpm2',
            '--tpm-state',
            uri(state),
            '--reconfigure',
            '--pcr-banks',
            b.activePcrBanks.join(','),
            '--logfile',
            log,
            ...(key ? ['--pwdfile', key.setup, '--cipher', 'aes-256-cbc'] : []),
          ],
          def.name,
        );
      }
    } finally {
      if (key) rmSync(key.setup, { force: true });
    }
    const socket = this.socket(def.uuid);
    rmSync(socket, { force: true });
    const a = this.deps.account;
    const ctrl = ['type=unixio', `path=${socket}`, 'mode=0600', ...(a ? [`uid=${a.uid}`, `gid=${a.gid}`] : [])].join(',');
    const args = [
      'socket',
      '--ctrl',
      ctrl,
      '--tpmstate',
      state.kind === 'dir' ? `dir=${state.path},mode=0600` : `backend-uri=file://${state.path}`,
      '--log',
      `file=${log},level=${b.debug ?? 1}`,
      '--pid',
      `file=${this.pidfile(def.uuid)}`,
      '--terminate',
      ...(b.version === '2.0' ? ['--tpm2'] : []),
      // The state and its migration blobs encrypted with the secret's passphrase, as libvirt runs it; swtpm deletes the files once read.
      ...(key
        ? ['--key', `pwdfile=${key.state},mode=aes-256-cbc,remove=true`, '--migration-key', `pwdfile=${key.migration},mode=aes-256-cbc,remove=true`]
        : []),
    ];
    this.deps.log.debug({ vm: def.name, args }, 'starting swtpm');
    const fd = openSync(log, 'a', 0o600);
    let exited: string | undefined;
    try {
      const child = spawn(this.deps.swtpm ?? 'swtpm', args, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      });
      child.once('error', (err) => {
        exited = err.message;
      });
      child.once('exit', (code, signal) => {
        exited ??= `exit ${code ?? signal}`;
      });
      child.unref();
    } finally {
      closeSync(fd);
    }
    // Ready when its control socket exists; an swtpm that exits first fails the start with its log.
    const deadline = Date.now() + 10_000;
    while (!existsSync(socket)) {
      if (exited !== undefined || Date.now() > deadline) {
        await this.stop(def.uuid);
        throw new FerryError(
          'TPM_EMULATOR_FAILED',
          `internal error: swtpm for domain '${def.name}' did not start (${exited ?? 'no socket after 10 s'}): ${logTail(log)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return socket;
  }

  /**
   * The passphrase of an encrypted state, written for swtpm_setup and swtpm
   * (root's files, 0600, in the VM's run directory; swtpm removes its own once
   * read). A missing secret refuses the start, naming it.
   */
  private passphraseFiles(def: DomainDefinition, b: EmulatorBackend): { setup: string; state: string; migration: string } | undefined {
    if (!b.encryptionSecret) return undefined;
    if (!this.deps.secrets)
      throw new FerryError('SECRET_NOT_FOUND', `<tpm> <encryption>: Secret not found: no secret with matching uuid '${b.encryptionSecret}'`);
    let value: Buffer;
    try {
      value = this.deps.secrets.resolve({ type: 'vtpm', uuid: b.encryptionSecret }).value;
    } catch (err) {
      if (err instanceof FerryError) throw new FerryError(err.code, `<tpm> <encryption>: ${err.message}`, { details: err.details });
      throw err;
    }
    const dir = this.deps.paths.domainRunDir(def.uuid);
    const files = { setup: join(dir, 'swtpm-setup.pwd'), state: join(dir, 'swtpm-state.pwd'), migration: join(dir, 'swtpm-migration.pwd') };
    for (const f of Object.values(files)) writeFileSync(f, value, { mode: 0o600 });
    return files;
  }

  /** The pid of the domain's swtpm while it runs (its pidfile, checked against the program): it joins the VM's scope. */
  pidOf(uuid: string): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidfile(uuid), 'utf8').trim());
      return Number.isInteger(pid) && pid > 1 && isProgram(pid, 'swtpm') ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Ends the domain's swtpm if it still runs (QEMU never connected, or ferryd tidies up after QEMU). */
  async stop(uuid: string): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidfile(uuid), 'utf8').trim());
    } catch {
      return;
    }
    if (!Number.isInteger(pid) || pid <= 1 || !isProgram(pid, 'swtpm')) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 100 && pidExists(pid); i++) await new Promise((r) => setTimeout(r, 20));
    if (pidExists(pid)) process.kill(pid, 'SIGKILL');
  }

  /** Removes the TPM state ferryd keeps for a domain (undefine; a transient domain's stop), unless it is to be kept. */
  removeState(def: DomainDefinition): void {
    const b = emulatedTpm(def);
    if (!b) return;
    if (b.source) {
      rmSync(b.source.path, { recursive: true, force: true });
      return;
    }
    rmSync(this.deps.paths.tpmStateDir(def.uuid), { recursive: true, force: true });
  }

  /** The state's files (relative path → content) for an offline migration; empty when there is none yet. */
  readState(def: DomainDefinition): Record<string, string> {
    const b = emulatedTpm(def);
    if (!b) return {};
    const state = this.statePath(def, b);
    if (state.kind === 'file') return existsSync(state.path) ? { '': readFileSync(state.path).toString('base64') } : {};
    if (!existsSync(state.path)) return {};
    const out: Record<string, string> = {};
    for (const f of readdirSync(state.path)) {
      const p = join(state.path, f);
      if (f !== '.lock' && statSync(p).isFile()) out[f] = readFileSync(p).toString('base64');
    }
    return out;
  }

  /** Writes a state received with an offline migration, in place of any this host had. */
  writeState(def: DomainDefinition, files: Record<string, string>): void {
    const b = emulatedTpm(def);
    if (!b || Object.keys(files).length === 0) return;
    const state = this.statePath(def, b);
    const write = (path: string, base64: string): void => writeFileSync(path, Buffer.from(base64, 'base64'), { mode: 0o600 });
    if (state.kind === 'file') {
      mkdirSync(dirname(state.path), { recursive: true, mode: 0o700 });
      write(state.path, files[''] ?? '');
      return;
    }
    rmSync(state.path, { recursive: true, force: true });
    mkdirSync(state.path, { recursive: true, mode: 0o700 });
    for (const [name, content] of Object.entries(files)) {
      if (name.includes('/') || name.startsWith('.')) throw new FerryError('MIG_PEER_REFUSED', `operation failed: invalid TPM state file name '${name}'`);
      write(join(state.path, name), content);
    }
  }

  /** swtpm_setup as libvirt runs it at a TPM's first start: EK, its certificate and the platform certificate, NVRAM locked. */
  private async setup(def: DomainDefinition, b: EmulatorBackend, state: { kind: 'dir' | 'file'; path: string }, log: string, pwdfile?: string): Promise<void> {
    const args = [
      ...(b.version === '2.0' ? ['--tpm2'] : []),
      '--tpm-state',
      uri(state),
      '--vmid',
      `${def.name}:${def.uuid}`,
      '--logfile',
      log,
      '--createek',
      '--create-ek-cert',
      '--create-platform-cert',
      '--lock-nvram',
      '--not-overwrite',
      ...(b.activePcrBanks && b.version === '2.0' ? ['--pcr-banks', b.activePcrBanks.join(',') || '-'] : []),
      ...(pwdfile ? ['--pwdfile', pwdfile, '--cipher', 'aes-256-cbc'] : []),
    ];
    await this.setupTool(args, def.name);
  }

  private async setupTool(args: string[], name: string): Promise<void> {
    const tool = this.deps.swtpmSetup ?? 'swtpm_setup';
    try {
      await run(tool, args, { timeout: 60_000 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      const why = e.code === 'ENOENT' ? `${tool} is not installed` : (e.stderr ?? '').trim() || e.message;
      throw new FerryError('TPM_EMULATOR_FAILED', `internal error: could not set up the TPM state of domain '${name}': ${why}`, { cause: err });
    }
  }
}

function uri(state: { kind: 'dir' | 'file'; path: string }): string {
  return state.kind === 'dir' ? state.path : `file://${state.path}`;
}

function hasState(state: { kind: 'dir' | 'file'; path: string }): boolean {
  if (state.kind === 'file') return existsSync(state.path) && statSync(state.path).size > 0;
  return existsSync(state.path) && readdirSync(state.path).some((f) => f.startsWith('tpm'));
}
