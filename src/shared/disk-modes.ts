// A disk's cache and I/O modes and its buses, as libvirt's XML names them: the definition (vm/) and the CLI's options share them.
export const DISK_CACHE_MODES = ['default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe'] as const;
export type DiskCacheMode = (typeof DISK_CACHE_MODES)[number];
export const DISK_IO_MODES = ['threads', 'native', 'io_uring'] as const;
export type DiskIoMode = (typeof DISK_IO_MODES)[number];
export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'ide', 'usb', 'fdc'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];
