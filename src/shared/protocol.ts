/** A client asks to be read-only with this header (virsh -r over any transport); ferryd then refuses anything but queries. */
export const READONLY_HEADER = 'x-ferry-readonly';

/** The organisational units (OU) of ferry's certificates (ferry cert-*-create): what a TLS client may do. */
export const CERT_ROLES = { host: 'ferry-host', admin: 'ferry-admin', readonly: 'ferry-readonly' } as const;
