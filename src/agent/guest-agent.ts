import { FerryError } from '../errors/ferry-error.js';
import type { AgentConnection, AgentExecuteOptions, AgentReply } from './connection.js';
import { agentProtocol } from './errors.js';
import type {
  AgentFsInfo,
  AgentInfo,
  AgentInterface,
  AgentOsInfo,
  AgentShutdownMode,
  AgentTimezone,
  AgentUser,
  FsfreezeStatus,
  GuestTime,
} from '../shared/agent-types.js';

/** Commands that qemu-ga answers only when they fail ("success-response": false). */
const NO_REPLY = new Set(['guest-shutdown', 'guest-suspend-disk', 'guest-suspend-ram', 'guest-suspend-hybrid']);

/** The guest agent's commands, typed: what ferryd's verbs call. */
export class GuestAgent {
  constructor(private readonly conn: AgentConnection) {}

  ping(options?: AgentExecuteOptions): Promise<void> {
    return this.conn.execute('guest-ping', undefined, options).then(() => undefined);
  }

  info(options?: AgentExecuteOptions): Promise<AgentInfo> {
    return this.conn.execute<AgentInfo>('guest-info', undefined, options);
  }

  networkInterfaces(options?: AgentExecuteOptions): Promise<AgentInterface[]> {
    return this.conn.execute<AgentInterface[]>('guest-network-get-interfaces', undefined, options);
  }

  async getTime(options?: AgentExecuteOptions): Promise<GuestTime> {
    const ns = await this.conn.execute<unknown>('guest-get-time', undefined, options);
    if (typeof ns !== 'number' || !Number.isFinite(ns)) throw agentProtocol(`guest-get-time returned ${JSON.stringify(ns)}`);
    const seconds = Math.floor(ns / 1e9);
    return { seconds, nseconds: Math.max(0, Math.round(ns - seconds * 1e9)) };
  }

  /** Sets the guest's clock to `time`; without it the guest reads its own RTC (virsh domtime --sync without --time). */
  setTime(time?: GuestTime, options?: AgentExecuteOptions): Promise<void> {
    const args = time === undefined ? {} : { time: BigInt(time.seconds) * 1_000_000_000n + BigInt(time.nseconds) };
    return this.conn.execute('guest-set-time', args, options).then(() => undefined);
  }

  osInfo(options?: AgentExecuteOptions): Promise<AgentOsInfo> {
    return this.conn.execute<AgentOsInfo>('guest-get-osinfo', undefined, options);
  }

  async hostname(options?: AgentExecuteOptions): Promise<string> {
    const r = await this.conn.execute<{ 'host-name': string }>('guest-get-host-name', undefined, options);
    return r['host-name'];
  }

  users(options?: AgentExecuteOptions): Promise<AgentUser[]> {
    return this.conn.execute<AgentUser[]>('guest-get-users', undefined, options);
  }

  timezone(options?: AgentExecuteOptions): Promise<AgentTimezone> {
    return this.conn.execute<AgentTimezone>('guest-get-timezone', undefined, options);
  }

  filesystems(options?: AgentExecuteOptions): Promise<AgentFsInfo[]> {
    return this.conn.execute<AgentFsInfo[]>('guest-get-fsinfo', undefined, options);
  }

  /** Asks the guest to power down, reboot or halt; resolves once the agent took the command. */
  shutdown(mode: AgentShutdownMode, options?: AgentExecuteOptions): Promise<void> {
    return this.conn.executeNoReply('guest-shutdown', { mode }, options);
  }

  /** Freezes the guest's filesystems (all, or those mounted at `mountpoints`); returns how many. */
  fsfreeze(mountpoints?: string[], options?: AgentExecuteOptions): Promise<number> {
    return mountpoints && mountpoints.length > 0
      ? this.conn.execute<number>('guest-fsfreeze-freeze-list', { mountpoints }, options)
      : this.conn.execute<number>('guest-fsfreeze-freeze', undefined, options);
  }

  fsthaw(options?: AgentExecuteOptions): Promise<number> {
    return this.conn.execute<number>('guest-fsfreeze-thaw', undefined, options);
  }

  fsfreezeStatus(options?: AgentExecuteOptions): Promise<FsfreezeStatus> {
    return this.conn.execute<FsfreezeStatus>('guest-fsfreeze-status', undefined, options);
  }

  /**
   * virsh qemu-agent-command: any command as JSON text ({"execute", "arguments"}); returns the
   * agent's whole reply ({"return": ...}), or {} for a command that answers only on failure.
   */
  async raw(json: string, options?: AgentExecuteOptions): Promise<AgentReply | Record<string, never>> {
    const { execute, args } = parseRawCommand(json);
    if (NO_REPLY.has(execute)) {
      await this.conn.executeNoReply(execute, args, options);
      return {};
    }
    return this.conn.request(execute, args, options);
  }
}

/** The JSON of virsh qemu-agent-command: an object with a string "execute" and an optional object "arguments". */
export function parseRawCommand(json: string): { execute: string; args: Record<string, unknown> | undefined } {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw badCommand(`cannot parse agent command ${JSON.stringify(json.slice(0, 100))}: ${(err as Error).message}`);
  }
  const o = v as { execute?: unknown; arguments?: unknown } | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o) || typeof o.execute !== 'string' || o.execute === '') {
    throw badCommand('an agent command is a JSON object with a string "execute", e.g. {"execute":"guest-info"}');
  }
  if (o.arguments !== undefined && (typeof o.arguments !== 'object' || o.arguments === null || Array.isArray(o.arguments))) {
    throw badCommand('"arguments" of an agent command must be a JSON object');
  }
  // "id" is QMP's and qemu-ga echoes it; commands run one at a time here, so it is not needed.
  const extra = Object.keys(o).filter((k) => k !== 'execute' && k !== 'arguments' && k !== 'id');
  if (extra.length > 0) throw badCommand(`an agent command has only "execute" and "arguments", not ${extra.map((k) => `"${k}"`).join(', ')}`);
  return { execute: o.execute, args: o.arguments as Record<string, unknown> | undefined };
}

function badCommand(message: string): FerryError {
  return new FerryError('INVALID_ARGUMENT', message, {
    hint: 'Give the command as JSON, e.g. ferry qemu-agent-command <domain> \'{"execute":"guest-network-get-interfaces"}\'',
  });
}
