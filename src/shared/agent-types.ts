/** What qemu-ga answers (the subset of its QAPI schema, qga/qapi-schema.json, that ferry reads). */

export interface AgentIpAddress {
  'ip-address-type': 'ipv4' | 'ipv6';
  'ip-address': string;
  prefix: number;
}

export interface AgentInterface {
  name: string;
  'hardware-address'?: string;
  'ip-addresses'?: AgentIpAddress[];
  statistics?: Record<string, number>;
}

export interface AgentCommandInfo {
  name: string;
  enabled: boolean;
  'success-response': boolean;
}

export interface AgentInfo {
  version: string;
  supported_commands: AgentCommandInfo[];
}

export interface AgentOsInfo {
  'kernel-release'?: string;
  'kernel-version'?: string;
  machine?: string;
  id?: string;
  name?: string;
  'pretty-name'?: string;
  version?: string;
  'version-id'?: string;
  variant?: string;
  'variant-id'?: string;
}

export interface AgentUser {
  user: string;
  domain?: string;
  'login-time': number;
}

export interface AgentTimezone {
  zone?: string;
  offset: number;
}

export interface AgentFsInfo {
  name: string;
  mountpoint: string;
  type: string;
  'used-bytes'?: number;
  'total-bytes'?: number;
  disk: Array<Record<string, unknown>>;
}

/** A guest time: libvirt's virDomainGetTime() pair. */
export interface GuestTime {
  seconds: number;
  nseconds: number;
}

export type AgentShutdownMode = 'powerdown' | 'reboot' | 'halt';

export type FsfreezeStatus = 'thawed' | 'frozen';
