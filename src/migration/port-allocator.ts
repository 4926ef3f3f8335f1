// Moved to src/system/port-allocator.ts. This re-export keeps the importers of the old path building while issue 14's
// branches merge (test/fakes/recovery-harness.ts on main uses it); delete it once nothing imports it.
export * from '../system/port-allocator.js';
