import { pino, type Logger } from 'pino';
import { RunningDomain } from '../../src/host/running-domain.js';
import type { QemuMonitor, QemuRunState } from '../../src/qemu/monitor.js';
import { QemuProcess } from '../../src/qemu/process.js';
import type { DomainStatus } from '../../src/shared/domain-state.js';
import { parseDomainXml } from '../../src/vm/parse-domain-xml.js';
import type { Transcript } from './qmp-transcript.js';
import { ScriptedQmpServer } from './scripted-qmp-server.js';

/**
 * A "QEMU" for unit tests: a real child process (sleep, launched by ferry's own QemuProcess.launch, so
 * spawn, exit and reaping are real) whose monitor is a ScriptedQmpServer. `quit` on the monitor ends the
 * process as QEMU's quit does; crash() kills it under ferry.
 */
export class FakeQemu {
  private constructor(
    readonly server: ScriptedQmpServer,
    readonly process: QemuProcess,
    readonly monitor: QemuMonitor,
  ) {
    server.on('quit', () => process.signal('SIGTERM'));
  }

  static async start(o: { dir: string; name: string; transcript?: Transcript; runstate?: QemuRunState }): Promise<FakeQemu> {
    const server = await ScriptedQmpServer.listen({
      path: `${o.dir}/${o.name}.qmp`,
      ...(o.transcript ? { transcript: o.transcript } : {}),
      ...(o.runstate ? { runstate: o.runstate } : {}),
    });
    try {
      const { process, monitor } = await QemuProcess.launch({
        binary: '/bin/sleep',
        argv: ['600'],
        logPath: `${o.dir}/${o.name}.log`,
        qmpSocket: server.path,
        startTimeoutMs: 10_000,
      });
      return new FakeQemu(server, process, monitor);
    } catch (err) {
      await server.close();
      throw err;
    }
  }

  /** QEMU dies (SIGKILL): its monitor closes, the process exits. */
  async crash(): Promise<void> {
    this.process.signal('SIGKILL');
    this.server.drop();
    await this.process.waitExit(5000);
  }

  async close(): Promise<void> {
    this.monitor.close();
    this.process.signal('SIGKILL');
    await this.process.waitExit(5000);
    await this.server.close();
  }
}

export function domainXml(uuid: string, name: string): string {
  return (
    `<domain type='qemu'><name>${name}</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>` +
    `<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`
  );
}

/** ferry's view of a fake QEMU: a real RunningDomain following its monitor. */
export function fakeRunningDomain(q: FakeQemu, o: { uuid: string; name: string; status?: DomainStatus; log?: Logger }): RunningDomain {
  const status: DomainStatus =
    o.status ?? (q.server.runstate === 'running' ? { state: 'running', reason: 'booted' } : { state: 'paused', reason: 'migrating' });
  return new RunningDomain({
    uuid: o.uuid,
    name: o.name,
    def: parseDomainXml(domainXml(o.uuid, o.name)),
    process: q.process,
    monitor: q.monitor,
    status,
    log: o.log ?? pino({ level: 'silent' }),
  });
}

/** A fake QEMU with ferry's RunningDomain on it, as a migration's source or destination finds it. */
export async function startFakeDomain(o: {
  dir: string;
  uuid?: string;
  name?: string;
  transcript?: Transcript;
  runstate?: QemuRunState;
  status?: DomainStatus;
  log?: Logger;
}): Promise<{ qemu: FakeQemu; vm: RunningDomain; close: () => Promise<void> }> {
  const uuid = o.uuid ?? '6f2a1c2e-0000-4000-8000-000000000001';
  const name = o.name ?? 'fake';
  const qemu = await FakeQemu.start({
    dir: o.dir,
    name: `${name}-${uuid.slice(0, 8)}`,
    ...(o.transcript ? { transcript: o.transcript } : {}),
    ...(o.runstate ? { runstate: o.runstate } : {}),
  });
  const vm = fakeRunningDomain(qemu, { uuid, name, ...(o.status ? { status: o.status } : {}), ...(o.log ? { log: o.log } : {}) });
  return { qemu, vm, close: () => qemu.close() };
}
