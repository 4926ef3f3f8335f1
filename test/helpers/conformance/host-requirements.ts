import { child, type XmlElement } from '../../../src/shared/xml.js';
import { deviceElements } from './device-label.js';

/**
 * Why a test domain is left out of the conformance denominator: it needs
 * something of the host that a test machine does not have (a PCI card to pass
 * through, a vhost-user back end, a SEV-capable CPU, /dev/ttyS0, ...). The
 * rules look at the XML only, never at file names, so a refreshed fixture is
 * classified the same way.
 */
export interface HostRequirementRule {
  id: string;
  why: string;
  /** The first element of the domain that needs it, as a short path (devices/hostdev), or undefined. */
  find(domain: XmlElement): string | undefined;
}

const anyDevice =
  (pred: (d: XmlElement) => boolean) =>
  (domain: XmlElement): string | undefined => {
    const d = deviceElements(domain).find(pred);
    return d ? `devices/${d.name}${d.attrs.type ? `[type='${d.attrs.type}']` : ''}` : undefined;
  };
const CHARDEVS = new Set(['serial', 'parallel', 'console', 'channel']);
const HOST_AUDIO = new Set(['alsa', 'oss', 'coreaudio', 'jack', 'pulseaudio', 'pipewire', 'sdl']);

export const HOST_REQUIREMENT_RULES: readonly HostRequirementRule[] = [
  {
    id: 'device-passthrough',
    why: 'passes a host PCI/USB/SCSI/mdev device through (<hostdev>, <interface type=hostdev>)',
    find: anyDevice((d) => d.name === 'hostdev' || (d.name === 'interface' && d.attrs.type === 'hostdev')),
  },
  {
    id: 'nvme-or-lun-passthrough',
    why: "gives the guest a host NVMe controller (<disk type='nvme'>) or SCSI commands to a host LUN (<disk device='lun'>)",
    find: anyDevice((d) => d.name === 'disk' && (d.attrs.type === 'nvme' || d.attrs.device === 'lun')),
  },
  {
    id: 'vhost-user-or-vdpa',
    why: 'needs a vhost-user back-end process or a vDPA device (interface vhostuser/vdpa, disk vhostuser/vhostvdpa, vhost-user GPU)',
    find: anyDevice(
      (d) =>
        (d.name === 'interface' && (d.attrs.type === 'vhostuser' || d.attrs.type === 'vdpa')) ||
        (d.name === 'disk' && (d.attrs.type === 'vhostuser' || d.attrs.type === 'vhostvdpa')) ||
        (d.name === 'video' && child(d, 'driver')?.attrs.name === 'vhostuser'),
    ),
  },
  {
    id: 'hostdev-network',
    why: "a <source network> that the test driver backs with host devices (libvirt's 'hostdev;...' test networks)",
    find: anyDevice((d) => d.name === 'interface' && d.attrs.type === 'network' && (child(d, 'source')?.attrs.network ?? '').startsWith('hostdev')),
  },
  {
    id: 'launch-security',
    why: 'confidential computing: SEV, SEV-SNP or TDX needs that CPU (<launchSecurity>)',
    find: (domain) => (child(domain, 'launchSecurity') ? 'launchSecurity' : undefined),
  },
  {
    id: 'sgx',
    why: 'Intel SGX enclave memory (<memory model=sgx-epc>) needs an SGX CPU',
    find: anyDevice((d) => d.name === 'memory' && d.attrs.model === 'sgx-epc'),
  },
  {
    id: 'host-input-device',
    why: 'reads a host input device (/dev/input/event*: <input type=passthrough|evdev>)',
    find: anyDevice((d) => d.name === 'input' && (d.attrs.type === 'passthrough' || d.attrs.type === 'evdev')),
  },
  {
    id: 'host-character-device',
    why: "opens a host character device (serial, parallel, console or channel type='dev': /dev/ttyS0, /dev/parport0)",
    find: anyDevice((d) => CHARDEVS.has(d.name) && d.attrs.type === 'dev'),
  },
  {
    id: 'host-smartcard',
    why: "uses the host's smartcard reader (<smartcard mode='host'>)",
    find: anyDevice((d) => d.name === 'smartcard' && d.attrs.mode === 'host'),
  },
  {
    id: 'host-tpm',
    why: "passes the host's TPM through (<tpm><backend type='passthrough'>)",
    find: anyDevice((d) => d.name === 'tpm' && child(d, 'backend')?.attrs.type === 'passthrough'),
  },
  {
    id: 'host-audio',
    why: "plays through the host's sound card or sound server (<audio type=alsa|oss|coreaudio|jack|pulseaudio|pipewire|sdl>; SDL's audio plays through the host's own)",
    find: anyDevice((d) => d.name === 'audio' && HOST_AUDIO.has(d.attrs.type ?? '')),
  },
  {
    id: 'host-gpu-or-display',
    why: 'renders on a host GPU or shows on a host display (egl-headless, <gl enable=yes>, accel3d, SDL)',
    find: anyDevice(
      (d) =>
        (d.name === 'graphics' && (d.attrs.type === 'egl-headless' || d.attrs.type === 'sdl' || child(d, 'gl')?.attrs.enable === 'yes')) ||
        (d.name === 'video' && child(child(d, 'model') ?? d, 'acceleration')?.attrs.accel3d === 'yes'),
    ),
  },
];

/** The rules a domain falls under, each with the element that triggered it. */
export function hostRequirements(domain: XmlElement): Array<{ rule: HostRequirementRule; at: string }> {
  return HOST_REQUIREMENT_RULES.flatMap((rule) => {
    const at = rule.find(domain);
    return at === undefined ? [] : [{ rule, at }];
  });
}
