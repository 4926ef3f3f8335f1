// Shapes of ferryd's API replies that the CLI prints. The server modules that build them re-export them.
import type { DomainState } from './domain-state.js';

export interface VcpuCount {
  maximumConfig: number | null;
  maximumLive: number | null;
  currentConfig: number | null;
  currentLive: number | null;
}

export interface VcpuInfo {
  vcpu: number;
  /** The host CPU it last ran on; null when the domain is not running. */
  cpu: number | null;
  state: 'running' | 'offline' | null;
  cpuSeconds: number | null;
  affinity: string;
}

/** One line of `virsh dommemstat`: a tag and its value (KiB, or a count, or seconds for last_update). */
export interface MemoryStat {
  tag: string;
  value: number;
}

export interface InterfaceStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errs: number;
  rx_drop: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errs: number;
  tx_drop: number;
}

export interface SecretSummary {
  uuid: string;
  usage: string;
  ephemeral: boolean;
  private: boolean;
  hasValue: boolean;
}

/** A short listing row, read without the XML. */
export interface DomainSummary {
  uuid: string;
  name: string;
  domainId: number | null;
  state: DomainState;
  reason: string;
  persistent: boolean;
  autostart: boolean;
}

export interface BlockJobStatus {
  disk: string;
  kind: 'copy';
  offset: number;
  len: number;
  ready: boolean;
  percent: number;
}
