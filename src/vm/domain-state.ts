// Moved to src/shared/domain-state.ts (the CLI shares it with ferryd); this re-export keeps the other importers as they were.
export * from '../shared/domain-state.js';
