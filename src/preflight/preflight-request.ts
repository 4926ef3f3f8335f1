/**
 * The pre-flight call's messages (PreflightRequest, PreflightDisk,
 * PreflightReply): declared with their schemas in the peer protocol
 * (shared/peer-protocol/preflight-messages.ts), where the source's call and the
 * destination's route both take them from.
 */
export type { PreflightDisk, PreflightReply, PreflightRequest } from '../shared/peer-protocol/preflight-messages.js';
