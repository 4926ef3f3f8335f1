/**
 * The one registry of ferry's error codes. Every error that crosses a module
 * edge carries one of these codes; the API maps it to an HTTP status and the
 * CLI prints its hint. docs/errors.md lists the same codes (a test checks it).
 */
export const ERROR_CODES = {
  // generic
  INVALID_ARGUMENT: { summary: 'A request or command line is malformed', status: 400, hint: 'Check the command line against "ferry help <command>"' },
  OPERATION_INVALID: {
    summary: "The operation does not fit the domain's current state",
    status: 409,
    hint: 'Check the domain\'s state with "ferry domstate <domain> --reason"',
  },
  OPERATION_IN_PROGRESS: {
    summary: 'Another job holds the domain: it did not finish in time, or it is an async job (a migration) whose mask does not allow this operation',
    status: 409,
    hint: 'Another job holds this domain; wait for it ("ferry domjobinfo <domain>") or abort it ("ferry domjobabort <domain>")',
  },
  OPERATION_TIMEOUT: {
    summary: 'An operation did not finish before its deadline',
    status: 504,
    hint: 'The operation did not finish in time; check the domain log under the state directory',
  },
  NOT_SUPPORTED: {
    summary: 'The operation exists in virsh but not (yet) in ferry',
    status: 501,
    hint: 'This operation is not supported by this version of ferry',
  },
  REQUEST_TOO_LARGE: {
    summary: 'The request body is larger than ferryd accepts (4 MiB)',
    status: 413,
    hint: 'No domain, network or pool definition needs that much; domain XML is read up to 1 MiB (docs/domain-xml.md)',
  },
  INTERNAL_ERROR: { summary: 'An unexpected failure inside ferry', status: 500, hint: 'This is a bug in ferry; the daemon log has the details' },
  STATE_DIR_LOCKED: {
    summary: 'Another ferryd already uses this state directory',
    status: 409,
    hint: 'Stop the other ferryd first (its pid is in the message; systemctl stop ferryd), or give this one its own --state-dir and --socket',
  },
  // connection (CLI side)
  CONNECT_FAILED: {
    summary: 'The CLI could not reach ferryd',
    status: 503,
    hint: 'Is ferryd running? Start it with "ferryd" (or check --connect / FERRY_DEFAULT_URI)',
  },
  CONNECTION_LOST: {
    summary: 'ferryd closed the connection while a call ran (it stopped, crashed or restarted)',
    status: 503,
    hint: 'What the call did is not known yet: look with "ferry domstate --reason", "ferry domjobinfo" and "ferry migrate-history" once ferryd is back; a migration is finished or rolled back by ferryd\'s recovery (docs/migration.md)',
  },
  CLIENT_CONFIG_INVALID: {
    summary: 'A client config file (/etc/ferry/ferry.conf, ~/.config/ferry/ferry.conf) is malformed',
    status: 400,
    hint: 'Fix the named line: the file holds uri_default = "URI" and uri_aliases = [ "name=URI", ... ] (docs/client-config.md)',
  },
  URI_INVALID: {
    summary: 'The connection URI is not one ferry understands',
    status: 400,
    hint: 'Use ferry:///system, ferry:///session or ferry:///system?socket=/path (qemu:// works too)',
  },
  TRANSPORT_UNSUPPORTED: {
    summary: 'The URI names a transport this ferryd does not serve',
    status: 501,
    hint: 'Use ferry+tls:// (mutual TLS) or ferry+ssh://; ferry+tcp:// needs listen_tcp on the daemon',
  },
  TLS_MATERIAL_MISSING: {
    summary: 'A certificate, key or CA file for TLS cannot be read',
    status: 500,
    hint: 'Create them with "ferry cert-ca-create", "ferry cert-host-create" and "ferry cert-client-create" (docs/security.md)',
  },
  ACCESS_DENIED: {
    summary: 'The connection is not allowed to do this (read-only, or not a host certificate)',
    status: 403,
    hint: 'Connect without -r/--readonly, with a certificate that allows it, or as a member of the ferry group (docs/security.md)',
  },
  PKI_FAILED: {
    summary: 'Creating a CA or a certificate failed',
    status: 500,
    hint: 'Check the CA directory and that openssl is installed (apt-get install openssl)',
  },
  // domains
  DOMAIN_NOT_FOUND: { summary: 'No domain has that name, id or uuid', status: 404, hint: 'List the defined domains with "ferry list --all"' },
  DOMAIN_EXISTS: {
    summary: 'Another domain already has that name or uuid',
    status: 409,
    hint: 'Pick another name or uuid, or undefine the existing domain first',
  },
  DOMAIN_ALREADY_RUNNING: {
    summary: 'The domain is already running',
    status: 409,
    hint: 'Stop it first with "ferry shutdown <domain>" or "ferry destroy <domain>"',
  },
  MANAGED_SAVE_FAILED: {
    summary: "QEMU could not write the domain's managed save image",
    status: 500,
    hint: 'The domain runs on as before; check free space under the state directory (save/) and the domain log',
  },
  MANAGED_SAVE_RESTORE_FAILED: {
    summary: 'A domain could not be restored from its managed save image',
    status: 500,
    hint: 'The image is kept; "ferry start <domain> --force-boot" discards it and boots afresh, "ferry managedsave-remove <domain>" removes it',
  },
  MANAGED_SAVE_EXISTS: {
    summary: 'The domain has a managed save image, which the operation would orphan',
    status: 409,
    hint: 'Add --managed-save to remove the image with the definition, or remove it first with "ferry managedsave-remove <domain>"',
  },
  DOMAIN_NOT_RUNNING: { summary: 'The domain is shut off', status: 409, hint: 'Start it first with "ferry start <domain>"' },
  DOMAIN_NOT_PAUSED: { summary: 'The domain is not paused', status: 409, hint: 'Only a paused domain can be resumed; see "ferry domstate <domain>"' },
  DISPLAY_PORT_UNAVAILABLE: {
    summary: 'No free port for a VNC or SPICE display (autoport)',
    status: 503,
    hint: "Stop a domain whose display holds a port, or give the <graphics> a fixed port= with autoport='no'",
  },
  DISPLAY_TLS_UNAVAILABLE: {
    summary: 'A SPICE display asks for TLS (tlsPort, a secure channel or defaultMode) that this host or the display cannot give',
    status: 400,
    hint: "Set spice_tls = 1 in ferryd.conf with the host's certificates in spice_tls_x509_cert_dir (docs/security.md#spice-and-nbd-over-tls), or give the display a tlsPort (or autoport) for its secure channels",
  },
  DISPLAY_LISTEN_UNAVAILABLE: {
    summary: 'A display listens on a virtual network that has no address on this host',
    status: 409,
    hint: 'Give the network an <ip address=...> (isolated) or its host bridge an address (forward bridge), start it with "ferry net-start", or use <listen type=\'address\'>',
  },
  DISPLAY_NOT_FOUND: {
    summary: 'The domain has no graphical display of the asked type',
    status: 404,
    hint: "Add a <graphics type='vnc'> or <graphics type='spice'> to the domain, or drop --type",
  },
  DOMAIN_SHUTDOWN_TIMEOUT: {
    summary: 'The guest did not power off in time',
    status: 504,
    hint: 'The guest ignored the ACPI power button; use "ferry destroy <domain>"',
  },
  DISK_NO_HOTPLUG_SLOT: {
    summary: 'A disk cannot be hot-plugged: no free slot for it on the running machine',
    status: 409,
    hint: "On q35 a PCIe device needs a free pcie-root-port: define the domain with spare ones (<controller type='pci' model='pcie-root-port'/>, as virt-install does), or attach with --config and restart",
  },
  DISK_TRAY_LOCKED: {
    summary: 'The guest has locked the tray of a cdrom or floppy',
    status: 409,
    hint: 'Unmount the medium in the guest, or pass --force to change it anyway',
  },
  DISK_NOT_FOUND: { summary: 'The domain has no disk with that target', status: 404, hint: 'List the domain\'s disks with "ferry domblklist <domain>"' },
  DISK_SSH_HOST_UNKNOWN: {
    summary: "An ssh disk's <knownHosts> file has no usable key for its server on this host",
    status: 409,
    hint: 'Add the server\'s key to the file on this host (ssh-keyscan -p PORT HOST >> FILE; "[host]:port" for a port other than 22), or fix <knownHosts path=...>',
  },
  // consoles
  CONSOLE_BUSY: {
    summary: 'Another client has the console session of this device',
    status: 409,
    hint: 'Only one session per console device at a time: end the other one (its escape character, ^]), or take it over with "ferry console <domain> --force"',
  },
  CONSOLE_NOT_FOUND: {
    summary: 'The domain has no console, serial port or channel by that name',
    status: 404,
    hint: 'Name one of its devices with --devname: serial0, serial1, ... or console0, ... as "ferry dumpxml <domain>" lists them; without --devname the first console or serial port is used',
  },
  CONSOLE_NOT_PTY: {
    summary: 'The console device has no backend a session can attach to (it is not a pty or a unix socket QEMU listens on)',
    status: 400,
    hint: "Give the device <serial type='pty'> (or type='unix' with <source mode='bind'>) in its definition, or read its output where it goes (its file or log)",
  },
  CONSOLE_UPGRADE_REQUIRED: {
    summary: 'The console API is a byte stream and needs an HTTP/1.1 upgrade',
    status: 426,
    hint: 'Use "ferry console <domain>", or send the request with "Connection: Upgrade" and "Upgrade: ferry-console"',
  },
  // domain XML
  XML_MALFORMED: { summary: 'The domain XML is not well-formed', status: 400, hint: 'The file is not well-formed XML; check it with "xmllint --noout <file>"' },
  XML_INVALID: {
    summary: 'An element or attribute of the domain XML is missing or wrong',
    status: 400,
    hint: 'Fix the element named in the message (docs/domain-xml.md lists what ferry reads)',
  },
  XML_DOCTYPE_REFUSED: {
    summary: 'The XML has a DOCTYPE or entity declarations, which ferry never reads',
    status: 400,
    hint: "Remove the <!DOCTYPE ...> declaration (libvirt's own XML has none); ferry expands only XML's five predefined entities (amp, lt, gt, apos, quot) and character references",
  },
  XML_TOO_LARGE: {
    summary: 'The XML document is over 1 MiB, 20,000 elements or 256 levels of nesting, far beyond any real domain',
    status: 413,
    hint: 'Remove what the domain does not need (a real domain is a few KiB); docs/domain-xml.md gives the limits',
  },
  XML_UNSUPPORTED: {
    summary: 'The domain XML uses something ferry cannot run',
    status: 400,
    hint: 'Remove the element or change it to a supported form (docs/domain-xml.md)',
  },
  HOST_NUMA_NODE_MISSING: {
    summary: 'The domain binds its memory to a host NUMA node this host does not have',
    status: 409,
    hint: 'Change <numatune> nodeset / <memory><source><nodemask> to nodes listed in /sys/devices/system/node/online, or start the domain on a host that has them',
  },
  NUMA_PLACEMENT_UNFIT: {
    summary: "placement='auto' found no set of host NUMA nodes with enough free memory for the domain",
    status: 409,
    hint: "Free memory on the host (ferry nodeinfo; /sys/devices/system/node/node*/meminfo), lower <memory>, or pin the domain yourself: <vcpu placement='static' cpuset=...> and <numatune><memory nodeset=...>",
  },
  HOST_HUGEPAGES_UNAVAILABLE: {
    summary: 'The domain asks for hugepages of a size this host has no hugetlbfs mount for',
    status: 409,
    hint: 'Reserve pages (sysctl vm.nr_hugepages=N, or /sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages) and mount hugetlbfs for that size (mount -t hugetlbfs -o pagesize=2M none /dev/hugepages), or remove <hugepages>',
  },
  HOST_MEMLOCK_LIMIT: {
    summary: 'The domain asks for <memoryBacking><locked/> and QEMU may not lock that much memory',
    status: 409,
    hint: "Raise ferryd's locked-memory limit to at least the guest's memory plus 1 GiB (LimitMEMLOCK= in its systemd unit, or ulimit -l), or remove <locked/>",
  },
  // QEMU
  QEMU_BINARY_MISSING: {
    summary: 'The QEMU binary does not exist',
    status: 503,
    hint: 'Install QEMU 10.0: apt-get install -t bookworm-backports qemu-system-x86 (or set qemu_binary in ferryd.conf)',
  },
  QEMU_VERSION_UNSUPPORTED: {
    summary: 'The QEMU binary is older than 7.2',
    status: 503,
    hint: 'ferry needs QEMU 7.2 or later; install 10.0 from bookworm-backports',
  },
  QEMU_LAUNCH_FAILED: {
    summary: 'QEMU exited or failed while starting',
    status: 500,
    hint: 'QEMU refused to start; its own message is above and in the domain log',
  },
  QEMU_ACCESS_DENIED: {
    summary: "QEMU's unprivileged user cannot reach a file the domain needs",
    status: 403,
    hint: 'QEMU runs as the user named by "user" in ferryd.conf (default ferry-qemu): let it pass through the directory named (chmod o+x DIR), keep images in a storage pool, or set dynamic_ownership = 1',
  },
  QEMU_UNREACHABLE: {
    summary: "The domain's QEMU runs but ferryd cannot reach its monitor (yet)",
    status: 503,
    hint: "The VM keeps running and ferryd keeps trying to reconnect; see ferryd's log for why (e.g. out of file descriptors)",
  },
  QEMU_DIRTY_RATE_FAILED: {
    summary: "QEMU could not measure the guest's dirty rate before a migration",
    status: 500,
    hint: 'The migration goes on without a forecast of it; set migrate_dirty_rate_window_ms = 0 in ferryd.conf (or pass --dirty-rate-window 0) to skip the measurement',
  },
  QEMU_EXITED: { summary: 'QEMU exited while ferry needed it', status: 500, hint: 'QEMU exited unexpectedly; the domain log has its last words' },
  // QMP
  DUMP_FAILED: {
    summary: "QEMU could not write the guest's core dump",
    status: 500,
    hint: "The dump directory (STATE_DIR/dump) must be writable by QEMU's user and have room for the guest's memory; the domain log has QEMU's own message",
  },
  QMP_COMMAND_FAILED: { summary: 'QEMU refused a monitor command', status: 500, hint: "QEMU rejected a command; the message is QEMU's own" },
  QMP_DISCONNECTED: { summary: 'The monitor connection to QEMU is gone', status: 502, hint: 'The monitor connection to QEMU closed; QEMU may have exited' },
  QMP_TIMEOUT: { summary: 'QEMU did not answer a monitor command in time', status: 504, hint: 'QEMU did not answer in time; it may be overloaded or stuck' },
  QMP_PROTOCOL: {
    summary: 'QEMU sent a message ferry could not parse',
    status: 502,
    hint: 'QEMU sent something ferry does not understand; this is a bug worth reporting',
  },
  // guest agent
  AGENT_NOT_CONFIGURED: {
    summary: 'The domain has no guest agent channel',
    status: 400,
    hint: "Add <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel> to the domain (docs/guest-agent.md)",
  },
  AGENT_UNRESPONSIVE: {
    summary: 'The guest agent is not connected or did not answer in time',
    status: 503,
    hint: 'Is qemu-guest-agent installed and running in the guest? It answers once the guest has booted; try again, or give the command a longer --timeout',
  },
  AGENT_COMMAND_FAILED: {
    summary: 'The guest agent refused or failed a command',
    status: 500,
    hint: 'The message is the agent\'s own; "ferry qemu-agent-command <domain> \'{"execute":"guest-info"}\'" lists the commands it has enabled',
  },
  AGENT_PROTOCOL: {
    summary: 'The guest agent sent something that is not its JSON protocol',
    status: 502,
    hint: "Is another program than qemu-ga on the guest's org.qemu.guest_agent.0 port?",
  },
  // networking
  NET_BRIDGE_MISSING: {
    summary: 'The bridge an interface uses does not exist on this host',
    status: 409,
    hint: 'Create the bridge on this host (ip link add br1 type bridge) or fix <source bridge=...>',
  },
  NET_TAP_FAILED: { summary: 'ferryd could not create a tap device', status: 500, hint: 'ferryd needs CAP_NET_ADMIN (run it as root) to create tap devices' },
  NET_VHOST_UNAVAILABLE: {
    summary: "The kernel's vhost-net device that <driver name='vhost'> asks for cannot be opened on this host",
    status: 409,
    hint: "Load it (modprobe vhost_net; /dev/vhost-net must exist), fix <backend vhost=...>, or use <driver name='qemu'> (virtio-net in QEMU's userspace)",
  },
  VSOCK_UNAVAILABLE: {
    summary: "The kernel's vhost-vsock that a <vsock> needs cannot be opened on this host",
    status: 409,
    hint: 'Load it (modprobe vhost_vsock; /dev/vhost-vsock must exist), or remove the <vsock> device',
  },
  VSOCK_CID_IN_USE: {
    summary: "Another guest on this host holds the <vsock>'s guest CID",
    status: 409,
    hint: "Give the domain another <cid address='N'/> (3 or more), or <cid auto='yes'/> to take a free one at each start",
  },
  NET_IFACE_NOT_FOUND: {
    summary: 'The domain has no interface with that name or MAC',
    status: 404,
    hint: 'List the domain\'s interfaces with "ferry domiflist <domain>" (a tap name or a MAC address)',
  },
  NET_MACVTAP_FAILED: {
    summary: "ferryd could not create or open the macvtap of a type='direct' interface",
    status: 500,
    hint: "The <source dev> must exist on this host and the kernel needs macvtap; ferryd needs CAP_NET_ADMIN. ip's own message is above",
  },
  NET_SCRIPT_FAILED: {
    summary: "The <script> of a type='ethernet' interface was refused or failed",
    status: 500,
    hint: 'The script must be an absolute path to an executable owned by root and writable by root only; it is run as root with the tap name as its argument, and must exit 0',
  },
  NET_BANDWIDTH_FAILED: {
    summary: "tc could not set an interface's <bandwidth> on its tap",
    status: 500,
    hint: "tc's own message is above: <inbound> needs the kernel's htb qdisc, <outbound> the ingress qdisc and the police action (act_police), or with a peak the ifb device and the mirred action (act_mirred)",
  },
  NET_COALESCE_FAILED: {
    summary: "The kernel refused an interface's <coalesce> on its tap",
    status: 500,
    hint: "A tap (the tun driver) takes rx frames from 0 to 64 (NAPI's poll weight), set with the ethtool ioctl; ferryd needs CAP_NET_ADMIN. The kernel's answer is above",
  },
  NET_NOT_FOUND: {
    summary: 'No virtual network has that name or uuid',
    status: 404,
    hint: 'List the networks with "ferry net-list --all"; define one with "ferry net-define <file>"',
  },
  NET_EXISTS: {
    summary: 'Another network already has that name, uuid or bridge',
    status: 409,
    hint: 'Pick another name or bridge, or undefine the existing network first',
  },
  NET_NOT_ACTIVE: { summary: 'The virtual network is not started', status: 409, hint: 'Start it with "ferry net-start <network>"' },
  NET_ACTIVE: { summary: 'The virtual network is started', status: 409, hint: 'Stop it first with "ferry net-destroy <network>"' },
  NET_START_FAILED: {
    summary: 'The bridge of an isolated network could not be created',
    status: 500,
    hint: "ip's own message is above; ferryd needs CAP_NET_ADMIN, and the bridge name must be free",
  },
  NET_FORWARD_UNSUPPORTED: {
    summary: 'The network XML uses a forward mode ferry does not run',
    status: 400,
    hint: "Forward modes nat, route, open, ... are not in this release; use <forward mode='bridge'/> with a host bridge (<bridge name='br1'/>), or no <forward> for an isolated network",
  },
  // storage
  POOL_NOT_FOUND: { summary: 'No storage pool has that name', status: 404, hint: 'List the storage pools with "ferry pool-list --all"' },
  POOL_EXISTS: { summary: 'Another pool already has that name or uuid', status: 409, hint: 'Pick another name, or undefine the existing pool first' },
  POOL_NOT_ACTIVE: { summary: 'The storage pool is not started', status: 409, hint: 'Start it with "ferry pool-start <pool>"' },
  POOL_ACTIVE: { summary: 'The storage pool is started', status: 409, hint: 'Stop it first with "ferry pool-destroy <pool>"' },
  POOL_START_FAILED: {
    summary: 'The storage pool could not be started',
    status: 500,
    hint: 'Check the pool\'s source and target ("ferry pool-dumpxml <pool>") on this host',
  },
  POOL_COMMAND_FAILED: {
    summary: 'A storage tool (mount, qemu-img, lvm, iscsiadm) failed',
    status: 500,
    hint: "The tool's own message is above; install it if it is missing",
  },
  POOL_NO_SPACE: { summary: 'The storage pool has not enough free space', status: 507, hint: 'Free space in the pool, or use another pool' },
  VOL_NOT_FOUND: { summary: 'No storage volume has that name, key or path', status: 404, hint: 'List the volumes with "ferry vol-list <pool>"' },
  VOL_EXISTS: { summary: 'The storage volume exists already', status: 409, hint: 'Pick another name, or delete the volume first ("ferry vol-delete")' },
  // migration
  MIG_UNSAFE: {
    summary: 'A writable disk uses a cache mode that can lose data in a migration',
    status: 409,
    hint: 'Set the cache to none ("ferry disk-edit <domain> <disk> --cache none", then restart the domain), or accept the risk with --unsafe',
  },
  MIG_PHASE_INVALID: {
    summary: 'A migration step came out of order',
    status: 409,
    hint: 'This is a bug in ferry; the daemon logs of both hosts have the details',
  },
  MIG_NOT_FOUND: {
    summary: 'No such migration on this host',
    status: 404,
    hint: 'The migration may have finished; see "ferry domjobinfo <domain> --completed"',
  },
  MIG_NO_JOB: { summary: 'The domain has no migration running', status: 409, hint: 'Start one with "ferry migrate"; see "ferry domjobinfo <domain>"' },
  MIG_PEER_UNREACHABLE: {
    summary: 'The destination ferryd could not be reached',
    status: 502,
    hint: 'Check the destination URI, that ferryd runs there with --listen, and the network between the hosts',
  },
  MIG_PEER_REFUSED: { summary: 'The destination refused the migration', status: 409, hint: "The destination's own message says why" },
  MIG_FAILED: {
    summary: 'QEMU reported the migration as failed',
    status: 500,
    hint: "The VM keeps running on the source; QEMU's message and the domain logs say why",
  },
  MIG_SOURCE_CRASHED: {
    summary: 'The source QEMU exited during the migration',
    status: 500,
    hint: 'The domain is shut off (crashed) on the source and nothing of it runs on the destination: start it again with "ferry start"; the domain log says why QEMU exited',
  },
  MIG_CANCELLED: { summary: 'The migration was aborted', status: 409, hint: 'The VM keeps running on the source' },
  MIG_TIMEOUT: {
    summary: 'The migration did not finish within --timeout',
    status: 504,
    hint: 'Raise --bandwidth or the downtime, or add --auto-converge, --timeout-suspend or --postcopy with --timeout-postcopy',
  },
  MIG_NOT_CONVERGING: {
    summary: "The migration's policy ran out of steps (or its --deadline came) before it converged; the VM keeps running on the source",
    status: 504,
    hint: "The message names the stalled passes. Allow post-copy (--policy post-copy or auto), raise --bandwidth or --deadline, or lower the guest's write load (docs/policies.md)",
  },
  MIG_DOWNTIME_UNREACHABLE: {
    summary: 'The migration could not switch over within --max-downtime before its policy gave up; the VM keeps running on the source',
    status: 504,
    hint: "Raise --max-downtime, allow post-copy (--policy post-copy: its pause does not grow with the guest's load), raise --bandwidth, or move the VM when it writes less (docs/policies.md)",
  },
  MIG_NO_PROGRESS: {
    summary: 'The migration moved no data for migration_progress_timeout seconds and was aborted; the VM keeps running on the source',
    status: 504,
    hint: 'Check the migration network between the hosts (a firewall that drops the stream, a hung link or switch): "ferry migrate-check" tests the path. migration_progress_timeout in ferryd.conf sets the wait',
  },
  MIG_UNSUPPORTED_DEVICE: {
    summary: 'The domain has a device that cannot be migrated live',
    status: 409,
    hint: 'Migrate it offline (--offline --persistent after shutting it down), or detach the device',
  },
  MIG_PREFLIGHT_FAILED: {
    summary: 'A requirement of the migration is not met',
    status: 409,
    hint: 'The table lists every failed check with how to fix it; "ferry migrate-check" runs the checks alone',
  },
  MIG_OUTCOME_UNKNOWN: {
    summary: 'The destination did not say whether it resumed the VM',
    status: 504,
    hint: 'The domain stays paused on the source; ferryd keeps asking the destination and finishes or rolls back on its own',
  },
  MIG_POSTCOPY_FAILED: {
    summary: 'A post-copy migration failed after the switch',
    status: 500,
    hint: "The VM is paused on the destination and cannot resume on the source; see the destination's domain log",
  },
  MIG_DEST_CRASHED: {
    summary: 'The destination QEMU exited after the switch to post-copy: the guest is lost',
    status: 500,
    hint: "The guest's vCPUs ran there, so the source cannot take it back: its QEMU is stopped. Start the domain again where the message says it is defined (its disk holds what the guest wrote until the crash); the destination's domain log says why QEMU exited",
  },
  MIG_POSTCOPY_UNSAFE: {
    summary: 'The switch to post-copy was refused: the return path is off or the destination does not answer',
    status: 409,
    hint: 'The domain keeps running on the source in pre-copy. Check the destination ferryd and its QEMU (ferry -c DESTURI domjobinfo), then ask again (migrate-postcopy); --timeout-postcopy and policies ask again by themselves',
  },
  MIG_POSTCOPY_RECOVER_FAILED: {
    summary: 'A post-copy migration whose connection broke could not be resumed this time',
    status: 502,
    hint: 'Both sides stay paused and keep the domain; fix the migration network, then run "ferry migrate --postcopy-resume DOMAIN DESTURI" on the source again (docs/migration.md)',
  },
  MIG_TLS_REQUIRED: {
    summary: 'The destination accepts only encrypted migrations (migrate_tls_force)',
    status: 409,
    hint: 'Add --tls (both hosts need certificates in their tls_dir; "ferry migrate-check --tls <domain> <desturi>" checks them)',
  },
  MIG_TLS_CREDS: {
    summary: "QEMU could not load this host's TLS certificates",
    status: 500,
    hint: 'Check ca-cert.pem and the server-*/client-*.pem files in tls_dir (ferryd.conf); "ferry migrate-check --tls <domain> <desturi>" names what is wrong',
  },
  MIG_TLS_HANDSHAKE: {
    summary: 'The TLS handshake between the two QEMUs failed',
    status: 502,
    hint: 'Both hosts need certificates from the same CA, and the destination\'s certificate must name the host the source connects to (or pass --tls-destination NAME); "ferry migrate-check --tls" checks both',
  },
  // locking
  LOCK_HELD: {
    summary: "A disk lease (or a domain's <lease>) is held by another domain, here or on another host",
    status: 409,
    hint: 'The domain (or one sharing its disk) runs elsewhere: "ferry lock-list" shows who holds what; "ferry lock-clear" removes a stale lock safely',
  },
  LOCK_CONFIG: {
    summary: 'The lock manager settings do not allow this domain',
    status: 400,
    hint: 'Check auto_disk_leases and require_lease_for_disks in ferryd.conf (docs/locking.md)',
  },
  LOCK_MANAGER_REQUIRED: {
    summary: 'The domain has a <lease> but this host runs without a lock manager (lock_manager = "nop")',
    status: 400,
    hint: 'Set lock_manager = "lockd" in ferryd.conf (docs/locking.md) so ferry-lockd holds the lease, or remove the <lease> from the domain',
  },
  LOCK_LEASE_UNSUPPORTED: {
    summary: "A <lease> asks for something ferry's lock manager does not do",
    status: 400,
    hint: "ferry takes a <lease> as the lock file <target path>/<lockspace>/<key> (libvirt's lockd): give offset='0' (offsets place sanlock leases)",
  },
  LOCKD_UNAVAILABLE: {
    summary: 'ferry-lockd cannot be reached',
    status: 503,
    hint: 'Start ferry-lockd (ferryd starts it itself), or check lockd_socket in ferryd.conf',
  },
  LOCK_BACKEND_FAILED: {
    summary: 'ferry-lockd could not take or check a lease in its backend (etcd unreachable, lockspace unwritable)',
    status: 503,
    hint: 'Check that etcd answers from this host (etcd_endpoints) or that the lockspace directory is writable; "ferry resume" retries a domain paused for a lock failure',
  },
  LOCK_CLEAR_REFUSED: {
    summary: 'lock-clear was given something that is not a lock file ferry made in a lockspace directory',
    status: 400,
    hint: 'lock-clear removes only lock files in file_lockspace_dir, lvm_lockspace_dir or scsi_lockspace_dir, as "ferry lock-list" names them; a lock on a disk image itself goes when its holder does',
  },
  LOCK_IN_USE: {
    summary: 'The lock is not stale: a reachable host holds it or runs the domain',
    status: 409,
    hint: 'Stop the domain where it runs; lock-clear is only for locks nobody holds',
  },
  // daemon / store
  CONFIG_INVALID: { summary: 'A setting of ferryd is wrong', status: 400, hint: 'Fix the named setting in ferryd.conf (docs/configuration.md)' },
  METRICS_LISTEN_FAILED: {
    summary: "ferryd cannot listen on metrics_listen (the address is not this host's, or the port is taken)",
    status: 500,
    hint: 'Give metrics_listen a free host:port of this host, such as "127.0.0.1:9477" (docs/metrics.md)',
  },
  STORE_FAILED: {
    summary: 'The state database could not be read or written',
    status: 500,
    hint: 'The state database could not be written; check free space and permissions of the state directory',
  },
  // CPU models
  CPU_MODEL_UNKNOWN: {
    summary: "A <cpu> names a model the hypervisor's QEMU does not know",
    status: 400,
    hint: 'Use a model the hypervisor knows ("qemu-system-x86_64 -cpu help"), or "ferry hypervisor-cpu-baseline" to find one',
  },
  CPU_INCOMPATIBLE: {
    summary: 'The hypervisor cannot give a guest the described CPU (hypervisor-cpu-compare --error)',
    status: 409,
    hint: 'Drop or disable the missing features, or use a model every host runs ("ferry hypervisor-cpu-baseline", docs/cpu-models.md)',
  },
  // vCPUs
  VCPU_HOTPLUG_FAILED: {
    summary: 'QEMU or the guest did not add or remove a vCPU',
    status: 409,
    hint: 'Adding vCPUs needs <vcpu current> below the maximum; removing one needs a guest that ejects CPUs (ACPI CPU hotplug): lower the count with --config and restart instead',
  },
  CPU_AFFINITY_FAILED: {
    summary: 'A cpuset, vcpupin or emulatorpin names host CPUs this host does not have, or pinning a thread failed',
    status: 409,
    hint: 'Pin to CPUs of this host ("ferry nodeinfo" counts them; /sys/devices/system/cpu/online lists them)',
  },
  TPM_EMULATOR_FAILED: {
    summary: "swtpm, the emulated TPM of a domain with <tpm><backend type='emulator'>, failed to set up or start",
    status: 500,
    hint: "Install swtpm and swtpm-tools (apt-get install swtpm swtpm-tools); swtpm's own words are above and in the domain's swtpm log (log/NAME-swtpm.log under ferryd's state directory)",
  },
  DBUS_DAEMON_FAILED: {
    summary: "the private dbus-daemon of a domain with a D-Bus display (<graphics type='dbus'> without address or p2p) did not start",
    status: 500,
    hint: "Install dbus-daemon (apt-get install dbus-daemon); its own words are above and in the domain's dbus log (log/NAME-dbus.log under ferryd's state directory). Or give the display a bus of your own (address='unix:path=...') or p2p='yes'",
  },
  SHMEM_SERVER_UNAVAILABLE: {
    summary: "no ivshmem server listens on the socket of a <shmem model='ivshmem-doorbell'> (QEMU gets the shared memory from it at start)",
    status: 409,
    hint: "Start an ivshmem server on that socket first (QEMU's contrib/ivshmem-server: ivshmem-server -S SOCKET -m NAME -l SIZE -n VECTORS), or give <server path=...> the socket of one that runs; ivshmem-plain needs no server",
  },
  SMARTCARD_DATABASE_MISSING: {
    summary: "the NSS database of a <smartcard mode='host-certificates'> is missing on this host (QEMU emulates the card from its certificates)",
    status: 409,
    hint: 'Create the database and its three certificates on this host (certutil -N -d DIR; certutil -S -x -d DIR -n NICK -s CN=NICK -t CT,CT,CT for each <certificate>), or point <database> at an existing one (default /etc/pki/nssdb); each host the domain runs or migrates to needs its own copy',
  },
  // firmware (UEFI)
  FIRMWARE_CONFLICT: {
    summary: 'The firmware settings of a definition contradict each other (Secure Boot without SMM, enrolled keys without Secure Boot, ...)',
    status: 400,
    hint: "Secure Boot needs <features><smm state='on'/> and a q35 machine; enrolled keys need Secure Boot; an NVRAM needs a read-only pflash loader (docs/domain-xml.md, UEFI)",
  },
  FIRMWARE_NOT_FOUND: {
    summary: "No firmware descriptor of this host fits <os firmware='efi'> and its <firmware><feature> list",
    status: 409,
    hint: 'ferryd reads the descriptors of /usr/share/qemu/firmware and /etc/qemu/firmware (Debian: apt install ovmf); relax the <feature> list, or name the <loader> and <nvram template> yourself',
  },
  NVRAM_FAILED: {
    summary: "The domain's UEFI variable store (NVRAM) could not be created from its template or copied",
    status: 500,
    hint: 'Check that the <nvram template=...> file exists and that the NVRAM directory (STATE_DIR/nvram, or the <nvram> path) is writable',
  },
  SECRET_NOT_FOUND: {
    summary: 'No secret has that uuid or usage',
    status: 404,
    hint: 'List the secrets with "ferry secret-list"; define one with "ferry secret-define FILE" and give it a value with "ferry secret-set-value UUID --file F" (docs/secrets.md)',
  },
  SECRET_NO_VALUE: {
    summary: 'The secret is defined but has no value',
    status: 409,
    hint: 'Give it a value with "ferry secret-set-value UUID --file F" (or --base64, --interactive) (docs/secrets.md)',
  },
  SECRET_EXISTS: {
    summary: 'Another secret already has that usage',
    status: 409,
    hint: 'Undefine the other secret ("ferry secret-undefine UUID") or pick another usage',
  },
  SECRET_PRIVATE: {
    summary: "The secret is private (private='yes'): its value cannot be read back",
    status: 403,
    hint: "A private secret's value only goes to QEMU; define it with private='no' to read it back with secret-get-value",
  },
  SECRET_INVALID: {
    summary: 'A secret definition (XML) or value is malformed',
    status: 400,
    hint: "Write <secret ephemeral='no' private='yes'><uuid>..</uuid><usage type='volume|ceph|iscsi|tls|vtpm'>..</usage></secret> (docs/secrets.md)",
  },
  CGROUP_UNAVAILABLE: {
    summary: 'A <cputune> or <blkiotune> setting needs a cgroup controller or control file this host does not have',
    status: 409,
    hint: 'The message names the missing controller or file (blkio.weight needs the BFQ I/O scheduler: echo bfq > /sys/block/DEV/queue/scheduler); remove the setting, or run the domain on a host that has it (docs/domain-xml.md)',
  },
  CGROUP_VALUE_INVALID: {
    summary: "A CPU or I/O tuning value is outside the range this host's cgroup layout accepts",
    status: 400,
    hint: 'shares: 2..262144 on cgroup v1, 1..10000 on v2; blkio weight: 100..1000 on v1, 1..10000 on v2; period 1000..1000000; quota -1 or 1000..17592186044415',
  },
  CGROUP_FAILED: {
    summary: "Creating, filling or writing the domain's cgroup failed",
    status: 500,
    hint: "ferryd must run as root with the cgroup hierarchies writable; the message has the kernel's error",
  },
  THREAD_SCHEDULER_FAILED: {
    summary: 'Setting a <vcpusched>, <iothreadsched> or <emulatorsched> policy on a QEMU thread failed',
    status: 409,
    hint: 'fifo and rr need a priority in 1..99 (sched_get_priority_min/max) and ferryd running as root; batch and idle take no priority',
  },
} as const satisfies Record<string, { summary: string; status: number; hint: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
