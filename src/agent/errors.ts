import { FerryError } from '../errors/ferry-error.js';

/** The agent errors, in virsh's wording (libvirt's qemu_agent.c and qemuDomainAgentAvailable). */

export function agentNotConfigured(): FerryError {
  return new FerryError('AGENT_NOT_CONFIGURED', 'argument unsupported: QEMU guest agent is not configured');
}

/** The channel is closed: QEMU is gone, or nothing in the guest has the port open. */
export function agentNotConnected(cause?: unknown): FerryError {
  return new FerryError('AGENT_UNRESPONSIVE', 'Guest agent is not responding: QEMU guest agent is not connected', { cause });
}

/** The channel is open but the agent did not answer in time. */
export function agentTimedOut(command: string, timeoutMs: number): FerryError {
  return new FerryError('AGENT_UNRESPONSIVE', 'Guest agent is not responding: Guest agent not available for now', {
    details: { command, timeoutMs },
  });
}

export function agentCommandFailed(command: string, errorClass: string, desc: string): FerryError {
  return new FerryError('AGENT_COMMAND_FAILED', `internal error: unable to execute QEMU agent command '${command}': ${desc}`, {
    details: { command, class: errorClass, desc },
  });
}

export function agentProtocol(message: string, cause?: unknown): FerryError {
  return new FerryError('AGENT_PROTOCOL', `internal error: ${message}`, { cause });
}
