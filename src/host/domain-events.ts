import type { DomainEvent } from '../shared/domain-events.js';

export interface HostEvents {
  domain: [event: DomainEvent];
}
