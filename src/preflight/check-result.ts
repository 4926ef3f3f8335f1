// Moved to src/shared/check-result.ts (the CLI shares it with ferryd); this re-export keeps the other importers as they were.
export * from '../shared/check-result.js';
