/**
 * The one registry of ferry's error codes. Every error that crosses a module
 * edge carries one of these codes; the API maps it to an HTTP status and the
 * CLI prints its hint. docs/errors.md lists the same codes (a test checks it).
 */
export const ERROR_CODES = {
  // generic
  INVALID_ARGUMENT: { status: 400, hint: 'Check the command line against "ferry help <command>"' },
  OPERATION_INVALID: { status: 409, hint: 'Check the domain\'s state with "ferry domstate <domain> --reason"' },
  OPERATION_IN_PROGRESS: {
    status: 409,
    hint: 'Another job holds this domain; wait for it ("ferry domjobinfo <domain>") or abort it ("ferry domjobabort <domain>")',
  },
  OPERATION_TIMEOUT: { status: 504, hint: 'The operation did not finish in time; check the domain log under the state directory' },
  NOT_SUPPORTED: { status: 501, hint: 'This operation is not supported by this version of ferry' },
  INTERNAL_ERROR: { status: 500, hint: 'This is a bug in ferry; the daemon log has the details' },
  // connection (CLI side)
  CONNECT_FAILED: {
    status: 503,
    hint: 'Is ferryd running? Start it with "ferryd" (or check --connect / FERRY_DEFAULT_URI)',
  },
  URI_INVALID: { status: 400, hint: 'Use ferry:///system, ferry:///session or ferry:///system?socket=/path (qemu:// works too)' },
  TRANSPORT_UNSUPPORTED: { status: 501, hint: 'Connect through the local socket (ferry:///system) for now' },
  // domains
  DOMAIN_NOT_FOUND: { status: 404, hint: 'List the defined domains with "ferry list --all"' },
  DOMAIN_EXISTS: { status: 409, hint: 'Pick another name or uuid, or undefine the existing domain first' },
  DOMAIN_ALREADY_RUNNING: { status: 409, hint: 'Stop it first with "ferry shutdown <domain>" or "ferry destroy <domain>"' },
  DOMAIN_NOT_RUNNING: { status: 409, hint: 'Start it first with "ferry start <domain>"' },
  DOMAIN_NOT_PAUSED: { status: 409, hint: 'Only a paused domain can be resumed; see "ferry domstate <domain>"' },
  DOMAIN_SHUTDOWN_TIMEOUT: { status: 504, hint: 'The guest ignored the ACPI power button; use "ferry destroy <domain>"' },
  DISK_NOT_FOUND: { status: 404, hint: 'List the domain\'s disks with "ferry domblklist <domain>"' },
  // domain XML
  XML_MALFORMED: { status: 400, hint: 'The file is not well-formed XML; check it with "xmllint --noout <file>"' },
  XML_INVALID: { status: 400, hint: 'Fix the element named in the message (docs/domain-xml.md lists what ferry reads)' },
  XML_UNSUPPORTED: { status: 400, hint: 'Remove the element or change it to a supported form (docs/domain-xml.md)' },
  // QEMU
  QEMU_BINARY_MISSING: {
    status: 503,
    hint: 'Install QEMU 10.0: apt-get install -t bookworm-backports qemu-system-x86 (or set qemu_binary in ferryd.conf)',
  },
  QEMU_VERSION_UNSUPPORTED: { status: 503, hint: 'ferry needs QEMU 7.2 or later; install 10.0 from bookworm-backports' },
  QEMU_LAUNCH_FAILED: { status: 500, hint: 'QEMU refused to start; its own message is above and in the domain log' },
  QEMU_EXITED: { status: 500, hint: 'QEMU exited unexpectedly; the domain log has its last words' },
  // QMP
  QMP_COMMAND_FAILED: { status: 500, hint: 'QEMU rejected a command; the message is QEMU\'s own' },
  QMP_DISCONNECTED: { status: 502, hint: 'The monitor connection to QEMU closed; QEMU may have exited' },
  QMP_TIMEOUT: { status: 504, hint: 'QEMU did not answer in time; it may be overloaded or stuck' },
  QMP_PROTOCOL: { status: 502, hint: 'QEMU sent something ferry does not understand; this is a bug worth reporting' },
  // networking
  NET_BRIDGE_MISSING: { status: 409, hint: 'Create the bridge on this host (ip link add br1 type bridge) or fix <source bridge=...>' },
  NET_TAP_FAILED: { status: 500, hint: 'ferryd needs CAP_NET_ADMIN (run it as root) to create tap devices' },
  NET_NETWORK_MISSING: { status: 409, hint: 'Virtual networks arrive with a later release; use <interface type=\'bridge\'> for now' },
  // storage
  POOL_NOT_FOUND: { status: 404, hint: 'List the storage pools with "ferry pool-list --all"' },
  // daemon / store
  CONFIG_INVALID: { status: 400, hint: 'Fix the named setting in ferryd.conf (docs/configuration.md)' },
  STORE_FAILED: { status: 500, hint: 'The state database could not be written; check free space and permissions of the state directory' },
} as const satisfies Record<string, { status: number; hint: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
