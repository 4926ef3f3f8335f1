// Moved to src/shared/agent-types.ts (the CLI shares it with ferryd); this re-export keeps the other importers as they were.
export * from '../shared/agent-types.js';
