// Moved to src/locking/lockd-protocol.ts. This re-export keeps the importers of the old path building while issue 14's
// branches merge; delete it once nothing imports it.
export type * from '../locking/lockd-protocol.js';
