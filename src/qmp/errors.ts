/**
 * The QMP error hierarchy. Every error a QmpClient raises is a QmpError; callers
 * outside qmp/ see them wrapped into FerryError codes by the QEMU monitor facade.
 */
export class QmpError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** QEMU answered a command with {"error": {"class", "desc"}}. */
export class QmpCommandError extends QmpError {
  readonly errorClass: string;
  readonly desc: string;
  readonly command: string;
  readonly sent: unknown;

  constructor(init: { command: string; errorClass: string; desc: string; sent: unknown }) {
    super(init.desc);
    this.command = init.command;
    this.errorClass = init.errorClass;
    this.desc = init.desc;
    this.sent = init.sent;
  }
}

/** The connection closed while a command was pending (python's ExecInterruptedError). */
export class QmpDisconnectedError extends QmpError {}

/** A command or a wait did not complete before its deadline. */
export class QmpTimeoutError extends QmpError {
  constructor(
    what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} timed out after ${timeoutMs} ms`);
  }
}

/** The peer broke the protocol: a malformed line, an unexpected greeting. */
export class QmpProtocolError extends QmpError {}

/** A method was called in a runstate that does not allow it. */
export class QmpStateError extends QmpError {
  constructor(
    readonly state: string,
    readonly required: readonly string[],
  ) {
    super(`QMP client is ${state}, but ${required.join(' or ')} is required`);
  }
}
