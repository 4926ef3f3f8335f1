// Moved to src/shared/volume.ts (the CLI shares it with ferryd); this re-export keeps the other importers as they were.
export * from '../shared/volume.js';
