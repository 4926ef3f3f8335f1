import { FerryError } from '../../../src/errors/ferry-error.js';
import { resolveGraphicsListens } from '../../../src/host/graphics-listens.js';
import { withNumaAdvice } from '../../../src/host/numa-placement.js';
import { buildQemuArgv, type ResolvedDiskSource } from '../../../src/qemu/argv.js';
import { nicQueues } from '../../../src/qemu/devices/nic.js';
import { withVsockCid } from '../../../src/vm/devices/vsock.js';
import type { DiskDefinition } from '../../../src/vm/definition.js';
import { parseDomainXml } from '../../../src/vm/parse-domain-xml.js';
import { domainSecretNeeds } from '../../../src/qemu/devices/disk-secrets.js';
import { renderDomainXml } from '../../../src/vm/render-domain-xml.js';

/** One reason ferry gave for refusing a definition. */
export interface Refusal {
  /** The error code (XML_UNSUPPORTED, XML_INVALID, ...); 'CRASH' when ferry threw something other than a coded error. */
  code: string;
  message: string;
  /** The element the refusal names, when ferry says it apart from the message (FerryError details.element). */
  element?: string;
}

/** What ferry makes of one domain definition: refused with its reasons, or accepted with its dumpxml and QEMU command line. */
export type FerryOutcome =
  { accepted: false; refusals: Refusal[] } | { accepted: true; dumpxml: string; argv: string[] } | { accepted: true; dumpxml: string; argvError: string };

const FAKE_NUMA_HOST = [0, 1, 2, 3].map((id) => ({ id, cpus: [2 * id, 2 * id + 1], memTotalKiB: 8 << 20, memFreeKiB: 8 << 20 }));

/** The versioned machine types of the QEMU ferry is tested on (10.0), for the aliases libvirt's test domains use. */
const MACHINE_ALIASES: Record<string, string> = { pc: 'pc-i440fx-10.0', q35: 'pc-q35-10.0' };

/**
 * The only place the conformance harness touches ferry: define (parse), dumpxml
 * (render) and the QEMU command line (argv) of one definition, with nothing on
 * the host touched — disks resolve to their own paths, each tap interface gets
 * a made-up descriptor. Change this function, and only this one, when those
 * entry points change.
 */
export function runFerry(xml: string): FerryOutcome {
  let def;
  try {
    def = parseDomainXml(xml);
  } catch (err) {
    return { accepted: false, refusals: refusalsOf(err) };
  }
  const dumpxml = renderDomainXml(def);
  try {
    const requested = def.os.machine ?? 'pc';
    // Displays listen where a host would put them: qemu.conf's default address, a made-up network address, a run-dir socket.
    const graphics = resolveGraphicsListens(def.devices.graphics, {
      vncListen: '127.0.0.1',
      spiceListen: '127.0.0.1',
      networkAddress: () => '192.168.122.1',
      socketPath: (type) => `/run/ferry/conformance/${type}.sock`,
    }).map((g) =>
      g.type === 'dbus' && !g.p2p && g.dbusAddress === undefined
        ? { ...g, dbusAddress: 'unix:path=/run/ferry/conformance/dbus.sock', dbusAddressGenerated: true }
        : g,
    ); // the domain's own dbus-daemon
    // placement='auto' on the fake host of libvirt's tests: 4 NUMA nodes (2 CPUs, 8 GiB free each); libvirt fakes numad's answer.
    // An auto='yes' vsock gets the CID a host would acquire: libvirt's tests fake 42.
    const placed = withVsockCid(withNumaAdvice(def, FAKE_NUMA_HOST), def.devices.vsock?.cidAuto ? 42 : undefined);
    const argv = buildQemuArgv({
      def: { ...placed, devices: { ...placed.devices, graphics } },
      // As libvirt's tests: a type='kvm' domain runs on KVM (-accel kvm in its .args), a type='qemu' one on TCG.
      accel: def.type === 'kvm' ? 'kvm' : 'tcg',
      machine: MACHINE_ALIASES[requested] ?? requested,
      qmpSocket: '/run/ferry/conformance/qmp.sock',
      pidfile: '/run/ferry/conformance/qemu.pid',
      tpmSocket: '/run/ferry/conformance/swtpm.sock',
      resolveDisk: resolveWithoutFiles,
      // Secrets as a host that has them would give them: libvirt's test ciphertext (random per start on a real host).
      secrets: {
        masterKeyPath: '/run/ferry/conformance/master-key.aes',
        values: new Map(
          domainSecretNeeds(def).map((n) => [
            n.id,
            { data: '9eao5F8qtkGt+seB1HYivWIxbtwUu6MQtg1zpj/oDtUsPr1q8wBYM91uEHCn6j/1', iv: 'AAECAwQFBgcICQoLDA0ODw==' },
          ]),
        ),
      },
      // Descriptors as ferryd hands them over: one per queue for the tap, and as many of vhost-net's for name='vhost'.
      tapFds: def.devices.interfaces.map((iface, i) => queueFds(100 + 10 * i, nicQueues(iface))),
      // libvirt's tests fake the vsock's descriptor and its acquired CID likewise (6789, 42 for auto='yes').
      ...(def.devices.vsock ? { vsockFd: 6789 } : {}),
      vhostFds: def.devices.interfaces.map((iface, i) => (iface.driver?.name === 'vhost' ? queueFds(40 + 10 * i, nicQueues(iface)) : undefined)),
      // As libvirt's tests fake them: a memory directory and hugetlbfs mounts for 2 MiB and 1 GiB pages.
      // As libvirt's test qemu.conf: SPICE TLS on, and the x509 directories it names.
      tls: { spiceX509Dir: '/etc/pki/libvirt-spice', nbdX509Dir: '/etc/pki/libvirt-nbd' },
      memoryPaths: {
        fileDir: '/run/ferry/conformance/ram',
        hugepageMounts: { 2048: '/dev/hugepages2M/ferry', 1048576: '/dev/hugepages1G/ferry' },
        defaultHugepageKiB: 2048,
      },
    });
    return { accepted: true, dumpxml, argv };
  } catch (err) {
    return { accepted: true, dumpxml, argvError: (err as Error).message };
  }
}

function queueFds(first: number, queues: number): number[] {
  return Array.from({ length: queues }, (_, q) => first + q);
}

function resolveWithoutFiles(disk: DiskDefinition): ResolvedDiskSource {
  const s = disk.source;
  // An ssh disk's <knownHosts> is read on the host at start: a stand-in key hash here (the file does not exist).
  if (disk.type === 'network') return { kind: 'network', disk, ...(s.knownHosts === undefined ? {} : { sshHostKey: '0'.repeat(64) }) };
  if (s.file !== undefined) return { kind: 'file', path: s.file };
  if (s.dev !== undefined) return { kind: 'block', path: s.dev };
  if (s.pool !== undefined) return { kind: 'file', path: `/var/lib/ferry/pools/${s.pool}/${s.volume ?? ''}` };
  return { kind: 'empty' };
}

/** A FerryError's reasons: one today; a list under details.problems (each {element, message}) once define reports every problem at once. */
function refusalsOf(err: unknown): Refusal[] {
  if (!(err instanceof FerryError)) return [{ code: 'CRASH', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }];
  const details = (err.details ?? {}) as Record<string, unknown>;
  const problems = Array.isArray(details.problems) ? (details.problems as Array<Record<string, unknown>>) : [details];
  return problems.map((p) => {
    const r: Refusal = { code: err.code, message: typeof p.message === 'string' ? p.message : err.message };
    if (typeof p.element === 'string') r.element = p.element;
    else if (typeof p.path === 'string' && p.path !== '') r.element = p.path.replace(/^\/domain\/?/, '');
    return r;
  });
}
