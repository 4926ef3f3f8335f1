import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { FerryError, fromUnknown } from '../errors/ferry-error.js';

/** Every error leaves the API as {error: {code, message, hint, details}} with the code's HTTP status. */
export function ferryErrorHandler(log: Logger) {
  return function ferryApiErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    let ferr: FerryError;
    if (err.validation) {
      ferr = new FerryError('INVALID_ARGUMENT', `invalid request: ${err.message}`);
    } else if (err.statusCode === 415 || err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      ferr = new FerryError('INVALID_ARGUMENT', `invalid request: ${err.message}`);
    } else {
      ferr = fromUnknown(err);
    }
    if (ferr.code === 'INTERNAL_ERROR') log.error({ err, url: request.url }, 'request failed');
    else log.debug({ code: ferr.code, url: request.url }, ferr.message);
    void reply.status(ferr.status).send({ error: ferr.toJSON() });
  };
}
