import { closeSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { VhostVsock } from '../system/vhost-vsock.js';
import { type CheckResult, fail, pass } from '../shared/check-result.js';

/**
 * The destination can give the domain's <vsock> its guest CID: it opens
 * /dev/vhost-vsock and claims the CID (a fixed one, or with auto='yes' the
 * source's or the next free), then lets it go again, as its launch will.
 */
export function vsockCheck(vsock: { cid?: number; auto: boolean }, hostname: string, device = new VhostVsock()): CheckResult {
  try {
    const { fd, cid } = device.acquire(vsock.cid, vsock.auto);
    closeSync(fd);
    return pass(
      'vsock',
      `vhost-vsock on ${hostname} gives the guest CID ${cid}${vsock.auto && cid !== vsock.cid ? ` (auto; ${vsock.cid ?? '-'} on the source)` : ''}`,
    );
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
    const hint =
      err.code === 'VSOCK_CID_IN_USE'
        ? `Another guest on ${hostname} holds that CID: give this domain <cid auto='yes'/>, or stop the other guest`
        : `Load vhost-vsock on ${hostname} (modprobe vhost_vsock), or remove the domain's <vsock>`;
    return fail('vsock', `${err.message} on ${hostname}`, hint);
  }
}
