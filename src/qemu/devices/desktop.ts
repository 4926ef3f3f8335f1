import { audiodevArg } from '../../vm/devices/audio.js';
import type { DomainDefinition, GraphicsDefinition, VideoDefinition } from '../../vm/definition.js';
import { virtioOptionProps } from '../../vm/devices/virtio-options.js';
import { device, escapeOpt, pciProps, usbProps } from './device-props.js';
import { spiceTlsOptions } from './spice-tls.js';

/** Input devices: USB and virtio ones are devices; PS/2 mouse and keyboard are part of every x86 machine. */
export function inputArgs(def: DomainDefinition, q35: boolean): string[] {
  const out: string[] = [];
  for (const i of def.devices.inputs) {
    if (i.bus === 'ps2') continue;
    if (i.bus === 'usb')
      out.push(...device(i.type === 'tablet' ? 'usb-tablet' : i.type === 'mouse' ? 'usb-mouse' : 'usb-kbd', [`id=${i.alias}`, ...usbProps(i.address)]));
    else out.push(...device(`virtio-${i.type}-pci`, [...virtioOptionProps(i.virtio), `id=${i.alias}`, ...pciProps(i.address, q35)]));
  }
  return out;
}

/**
 * -vnc and -spice; no local window ever (-display none). Listen addresses,
 * sockets and ports are the live definition's (resolved at start: ferryd.conf's
 * vnc_listen/spice_listen, a network's address, autoport's port). Passwords are
 * never on the command line: they are set over QMP before the guest runs.
 */
export function graphicsArgs(def: DomainDefinition, spiceX509Dir?: string): string[] {
  const dbus = def.devices.graphics.find((g) => g.type === 'dbus');
  const out: string[] = ['-display', dbus ? dbusDisplay(dbus) : 'none'];
  for (const g of def.devices.graphics) {
    if (g.type === 'vnc') out.push(...vncArgs(g));
    else if (g.type === 'spice') out.push(...spiceArgs(g, spiceX509Dir));
  }
  const keymap = def.devices.graphics.find((g) => g.keymap)?.keymap;
  if (keymap) out.push('-k', keymap);
  return out;
}

/**
 * QEMU's D-Bus display (ui-dbus), as libvirt writes it: on a bus (the domain's dbus-daemon, or the address
 * written) or p2p=on (clients handed over QMP), gl=off when written, audiodev= its <audio type='dbus'>.
 */
function dbusDisplay(g: GraphicsDefinition): string {
  if (!g.p2p && g.dbusAddress === undefined) throw new TypeError('graphics dbus: no bus address resolved (liveDefinition with the dbus-daemon socket)');
  const opts = ['dbus', g.p2p ? 'p2p=on' : `addr=${escapeOpt(g.dbusAddress as string)}`];
  if (g.glOff) opts.push('gl=off');
  if (g.audioId !== undefined) opts.push(`audiodev=audio${g.audioId}`);
  return opts.join(',');
}

/** The address a display listens on; a definition that was not made live (no address resolved) is a programmer error. */
function listenAddress(g: GraphicsDefinition): string {
  const l = g.listens[0];
  if (!l || l.address === undefined) throw new TypeError(`graphics ${g.type}: listen ${l?.type ?? '(none)'} has no address resolved (resolveGraphicsListens)`);
  return l.address;
}

function hostPart(addr: string): string {
  return addr.includes(':') ? `[${addr}]` : addr;
}

function vncArgs(g: GraphicsDefinition): string[] {
  const l = g.listens[0];
  let spec: string;
  // vnc= spelled out, as libvirt does: a socket path with '=' would otherwise read as an option.
  if (l?.type === 'socket') spec = `vnc=unix:${escapeOpt(l.socket ?? '')}`;
  else if (l?.type === 'none') spec = 'none';
  else {
    const host = hostPart(listenAddress(g));
    // autoport without a chosen port (a definition not made live): QEMU takes the first free display from 5900 on.
    if (g.port === undefined) spec = `${host}:0,to=${65535 - 5900}`;
    else if (g.port < 5900) throw new TypeError(`VNC needs a port of 5900 or above (got ${g.port})`);
    else spec = `${host}:${g.port - 5900}`;
  }
  const opts = [spec];
  if (g.websocket !== undefined && g.websocket !== -1) opts.push(`websocket=${g.websocket}`);
  if (g.passwd !== undefined) opts.push('password=on');
  if (g.sharePolicy) opts.push(`share=${g.sharePolicy}`);
  if (g.powerControl) opts.push('power-control=on');
  return ['-vnc', opts.join(',')];
}

/** libvirt's SPICE sub-elements as QEMU 10's -spice options (qemu-system-x86_64 -spice help). */
const SPICE_OPTION: Record<string, (v: string) => string> = {
  image: (v) => `image-compression=${v}`,
  jpeg: (v) => `jpeg-wan-compression=${v}`,
  zlib: (v) => `zlib-glz-wan-compression=${v}`,
  playback: (v) => `playback-compression=${v}`,
  streaming: (v) => `streaming-video=${v}`,
  clipboard: (v) => `disable-copy-paste=${v === 'no' ? 'on' : 'off'}`,
  mouse: (v) => `agent-mouse=${v === 'client' ? 'on' : 'off'}`,
  filetransfer: (v) => `disable-agent-file-xfer=${v === 'no' ? 'on' : 'off'}`,
  gl: () => 'gl=off',
};

function spiceArgs(g: GraphicsDefinition, x509Dir: string | undefined): string[] {
  const opts: string[] = [];
  const l = g.listens[0];
  if (l?.type === 'socket') opts.push(`unix=on,addr=${escapeOpt(l.socket ?? '')}`);
  else if (l?.type !== 'none') {
    if (g.port !== undefined && g.port !== -1) opts.push(`port=${g.port}`);
    if (g.tlsPort !== undefined && g.tlsPort > 0) opts.push(`tls-port=${g.tlsPort}`);
    opts.push(`addr=${listenAddress(g)}`);
  }
  // Without a password ticketing is off; a password is set over QMP after start (never on the command line).
  if (g.passwd === undefined) opts.push('disable-ticketing=on');
  opts.push(...spiceTlsOptions(g, x509Dir));
  for (const [k, v] of Object.entries(g.spice ?? {})) {
    const option = SPICE_OPTION[k];
    if (!option) throw new TypeError(`graphics spice: <${k}> has no QEMU option`);
    opts.push(option(v));
  }
  opts.push('seamless-migration=on');
  return ['-spice', opts.join(',')];
}

/** The video devices: the first is the primary (VGA-compatible) one; secondaries are qxl or virtio (orderVideos()). */
export function videoArgs(def: DomainDefinition, q35: boolean): string[] {
  return def.devices.videos.flatMap((v, i) => videoDevice(v, i === 0, q35));
}

function videoDevice(v: VideoDefinition, primary: boolean, q35: boolean): string[] {
  const at = [`id=${v.alias}`, ...pciProps(v.address, q35, v.acpiIndex)];
  const mib = (kib: number | undefined): number | undefined => (kib === undefined ? undefined : Math.max(1, Math.round(kib / 1024)));
  switch (v.model) {
    case 'none':
      return [];
    case 'ramfb':
      return device('ramfb', [`id=${v.alias}`]);
    case 'vga':
      return device('VGA', [...at, v.vram === undefined ? undefined : `vgamem_mb=${mib(v.vram)}`]);
    case 'cirrus':
      return device('cirrus-vga', [...at, v.vram === undefined ? undefined : `vgamem_mb=${mib(v.vram)}`]);
    case 'bochs':
      return device('bochs-display', [...at, v.vram === undefined ? undefined : `vgamem=${v.vram * 1024}`]);
    case 'virtio':
      return device(primary ? 'virtio-vga' : 'virtio-gpu-pci', [
        ...at,
        v.heads === undefined ? undefined : `max_outputs=${v.heads}`,
        v.blob === false ? 'blob=off' : undefined,
        ...resolution(v),
      ]);
    case 'qxl':
      return device(primary ? 'qxl-vga' : 'qxl', [
        ...at,
        v.ram === undefined ? undefined : `ram_size=${v.ram * 1024}`,
        v.vram === undefined ? undefined : `vram_size=${v.vram * 1024}`,
        v.vram64 === undefined ? undefined : `vram64_size_mb=${mib(v.vram64)}`,
        v.vgamem === undefined ? undefined : `vgamem_mb=${mib(v.vgamem)}`,
        v.heads === undefined ? undefined : `max_outputs=${v.heads}`,
        ...resolution(v),
      ]);
  }
}

function resolution(v: VideoDefinition): string[] {
  return v.resolution ? [`xres=${v.resolution.x}`, `yres=${v.resolution.y}`] : [];
}

const HDA_CODEC: Record<string, string> = { duplex: 'hda-duplex', micro: 'hda-micro', output: 'hda-output' };

/** -audiodev backends and the sound cards that play to them. */
export function soundArgs(def: DomainDefinition, q35: boolean): string[] {
  const out: string[] = [];
  for (const a of def.devices.audios) out.push('-audiodev', audiodevArg(a));
  for (const s of def.devices.sounds) {
    const audiodev = s.audioId === undefined ? undefined : `audiodev=audio${s.audioId}`;
    const at = [`id=${s.alias}`, ...pciProps(s.address, q35)];
    if (s.model === 'pcspk') continue; // machineOptions(): pcspk-audiodev=
    if (s.model === 'usb') {
      out.push(
        ...device('usb-audio', [
          `id=${s.alias}`,
          audiodev,
          s.multichannel === undefined ? undefined : `multi=${s.multichannel ? 'on' : 'off'}`,
          ...usbProps(s.address),
        ]),
      );
      continue;
    }
    if (s.model === 'ich9' || s.model === 'ich6') {
      out.push(...device(s.model === 'ich9' ? 'ich9-intel-hda' : 'intel-hda', at));
      const codecs = s.codecs.length > 0 ? s.codecs : ['duplex' as const];
      codecs.forEach((c, n) => out.push(...device(HDA_CODEC[c] as string, [`id=${s.alias}-codec${n}`, `bus=${s.alias}.0`, `cad=${n}`, audiodev])));
    } else if (s.model === 'virtio') {
      out.push(
        ...device('virtio-sound-pci', [
          ...virtioOptionProps(s.virtio),
          `id=${s.alias}`,
          audiodev,
          s.streams === undefined ? undefined : `streams=${s.streams}`,
          ...pciProps(s.address, q35),
        ]),
      );
    } else if (s.model === 'ac97') out.push(...device('AC97', [...at, audiodev]));
    else if (s.model === 'es1370') out.push(...device('ES1370', [...at, audiodev]));
    else out.push(...device('sb16', [`id=${s.alias}`, audiodev]));
  }
  return out;
}
