import type { Logger } from 'pino';
import { FerryError } from '../../errors/ferry-error.js';
import type { RunningDomain } from '../../host/running-domain.js';
import type { PeerClient } from '../../peer/peer-client.js';
import { PEER } from '../../shared/peer-protocol/peer-calls.js';
import { askDestinationOutcome } from '../source-rollback.js';

export interface LostPostcopy {
  /** The source QEMU, paused in post-copy; undefined when it is gone too. */
  vm: RunningDomain | undefined;
  name: string;
  id: string;
  peer: PeerClient;
  /** The destination as the operator named it (for the message's "ferry -c URI start"). */
  destUri: string;
  /** The migration was asked to leave the definition on the destination (--persistent). */
  persistent: boolean;
  undefineSource: boolean;
  /** Removes the source's persistent definition (and what goes with it), as Confirm would. */
  undefineHere: () => void;
  /** The source still holds a persistent definition. */
  definedHere: () => boolean;
  /** The destination's answer that its incoming QEMU exited (MIG_DEST_CRASHED). */
  cause: FerryError;
  log: Logger;
}

/**
 * The destination's QEMU exited after the switch to post-copy. The guest is lost: its vCPUs ran there, and what
 * the source holds is older than what it wrote (memory, and the disk on shared storage). Waiting for a resume would
 * wait forever, so the source QEMU is stopped (it must never run: invariant 4) and the migration ends, failed.
 * If the destination had resumed the domain, it owned it: with --undefinesource the source's definition goes, as
 * Confirm would have done, so exactly one host defines it. Returns the error the operator reads: what happened,
 * where the domain is defined now, and how to start it.
 */
export async function endLostPostcopy(a: LostPostcopy): Promise<FerryError> {
  if (a.vm && !a.vm.process.exited) {
    await a.vm.destroy('crashed').catch((err: unknown) => a.log.error({ err }, 'cannot stop the source QEMU after the destination lost the guest'));
  }
  const outcome = await askDestinationOutcome(a.peer, a.id, { maxMs: 10_000, log: a.log });
  const ownedThere = outcome === 'resumed' && a.persistent;
  if (ownedThere && a.undefineSource) a.undefineHere();
  a.log.error({ outcome, definedHere: a.definedHere(), definedThere: ownedThere }, 'post-copy: the destination QEMU exited; the guest is lost');
  const start = ` start ${a.name}`;
  let where: string;
  if (ownedThere && !a.definedHere()) where = `it is defined on the destination, shut off (crashed): start it there with 'ferry -c ${a.destUri}${start}'`;
  else if (ownedThere)
    where = `it is defined on both hosts (no --undefinesource), shut off: start it on the destination with 'ferry -c ${a.destUri}${start}', which holds its latest disk state`;
  else if (a.definedHere()) where = `it stays defined here, shut off (crashed): start it with 'ferry${start}'`;
  else where = 'it was transient, so no host defines it now: define it again from its XML to start it';
  return new FerryError(
    'MIG_DEST_CRASHED',
    `operation failed: the destination QEMU of domain '${a.name}' exited during post-copy: the guest is lost, and the source QEMU was stopped because its copy is older than the guest's; ${where}`,
    { cause: a.cause, details: { definedOnDestination: ownedThere, definedOnSource: a.definedHere() } },
  );
}

/**
 * The destination's own word on its copy of a broken post-copy (peer status): gone when the domain there is shut
 * off or no longer known, which happens only when its QEMU exited. Any other answer, or none, is not "gone".
 */
export async function destinationGone(peer: PeerClient, id: string, name: string): Promise<FerryError | undefined> {
  const s = await peer.call(PEER.status, { params: { id } }, { timeoutMs: 5000 });
  if (s.state !== null && s.state !== 'shutoff' && s.state !== 'crashed') return undefined;
  return new FerryError(
    'MIG_DEST_CRASHED',
    `operation failed: the destination reports domain '${name}' ${s.state ?? 'gone'}: its QEMU exited during post-copy`,
    {
      details: { phase: s.phase },
    },
  );
}
