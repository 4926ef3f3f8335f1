// Moved to src/system/log-destination.ts. This re-export keeps the importers of the old path building while issue 14's
// branches merge; delete it once nothing imports it.
export * from '../system/log-destination.js';
