import type { DeviceAddress } from '../../vm/device-address.js';
import { pciBusAlias } from '../../vm/device-aliases.js';

/** QEMU's option syntax doubles a comma inside a value. */
export function escapeOpt(value: string): string {
  return value.replace(/,/g, ',,');
}

/** bus= and addr= for a device at a PCI address (none for other address kinds). */
export function pciProps(address: DeviceAddress | undefined, q35: boolean, acpiIndex?: number): string[] {
  if (address?.type !== 'pci') return [];
  const addr = address.function === 0 ? `0x${address.slot.toString(16)}` : `0x${address.slot.toString(16)}.0x${address.function.toString(16)}`;
  return [
    `bus=${pciBusAlias(address.bus, q35)}`,
    ...(address.multifunction ? ['multifunction=on'] : []),
    `addr=${addr}`,
    ...(acpiIndex === undefined ? [] : [`acpi-index=${acpiIndex}`]),
  ];
}

/** bus= and port= on the USB controller (usb.0 for controller index 0). */
export function usbProps(address: DeviceAddress | undefined): string[] {
  if (address?.type !== 'usb') return [];
  return [`bus=${address.bus === 0 ? 'usb' : `usb${address.bus}`}.0`, ...(address.port ? [`port=${address.port}`] : [])];
}

/** A -device argument: the driver then its properties. */
export function device(driver: string, props: Array<string | undefined | false>): string[] {
  return ['-device', [driver, ...props.filter((p): p is string => typeof p === 'string' && p !== '')].join(',')];
}
