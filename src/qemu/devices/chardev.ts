import type { CharSource } from '../../vm/definition.js';
import { escapeOpt } from './device-props.js';

/**
 * The -chardev for a character device's host side. `spiceName` names a
 * spicevmc channel (vdagent, usbredir). The log copy (<log file=>) rides on
 * the chardev, so QEMU keeps writing it whoever is attached.
 */
export function chardevArgs(id: string, s: CharSource, spiceName = 'vdagent'): string[] {
  const path = escapeOpt(s.sourcePath ?? '');
  let spec: string;
  switch (s.type) {
    case 'pty':
      spec = `pty,id=${id}`;
      break;
    case 'file':
      spec = `file,id=${id},path=${path}${s.sourceAppend ? ',append=on' : ''}`;
      break;
    case 'unix':
      spec = `socket,id=${id},path=${path}${clientOrServer(s)}`;
      break;
    case 'tcp':
      spec = `socket,id=${id},host=${escapeOpt(s.host ?? (s.sourceMode === 'connect' ? '127.0.0.1' : '0.0.0.0'))},port=${s.service}${clientOrServer(s)}${s.protocol === 'telnet' ? ',telnet=on' : ''}`;
      break;
    case 'udp':
      spec = `udp,id=${id},host=${escapeOpt(s.host ?? '')},port=${s.service},localaddr=${escapeOpt(s.bindHost ?? '')},localport=${s.bindService ?? 0}`;
      break;
    case 'null':
      spec = `null,id=${id}`;
      break;
    case 'spicevmc':
      spec = `spicevmc,id=${id},name=${spiceName}`;
      break;
    case 'qemu-vdagent':
      // QEMU's own spice-vdagent protocol on the port (no SPICE server): clipboard and absolute mouse for any display.
      spec = `qemu-vdagent,id=${id},name=vdagent${s.vdagentClipboard === undefined ? '' : `,clipboard=${s.vdagentClipboard ? 'on' : 'off'}`}${s.vdagentMouse === undefined ? '' : `,mouse=${s.vdagentMouse === 'client' ? 'on' : 'off'}`}`;
      break;
    case 'spiceport':
      spec = `spiceport,id=${id},name=${escapeOpt(s.channel ?? '')}`;
      break;
    case 'dbus':
      // A channel of the D-Bus display (-display dbus): clients open it by name.
      spec = `dbus,id=${id},name=${escapeOpt(s.channel ?? '')}`;
      break;
    case 'vc':
      // A text console on the graphical display (VNC/SPICE: Ctrl+Alt+2...); without one QEMU keeps it and shows it nowhere.
      spec = `vc,id=${id}`;
      break;
    case 'pipe':
      // QEMU opens path.in and path.out (or path itself): FIFOs made by the user beforehand.
      spec = `pipe,id=${id},path=${path}`;
      break;
    case 'stdio':
      // QEMU's stdout is the domain log (its stdin is /dev/null): the guest's output lands there, as under libvirt.
      spec = `stdio,id=${id}`;
      break;
  }
  const log = s.logFile ? `,logfile=${escapeOpt(s.logFile)},logappend=${s.logAppend ? 'on' : 'off'}` : '';
  return ['-chardev', `${spec}${log}`];
}

function clientOrServer(s: CharSource): string {
  if (s.sourceMode === 'connect') return s.reconnect !== undefined ? `,reconnect-ms=${s.reconnect * 1000}` : '';
  return ',server=on,wait=off';
}
