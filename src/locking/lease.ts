// Moved to src/shared/lease.ts (the CLI shares it with ferryd); this re-export keeps the other importers as they were.
export * from '../shared/lease.js';
