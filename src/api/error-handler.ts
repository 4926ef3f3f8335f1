import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { FerryError, fromUnknown } from '../errors/ferry-error.js';
import { describeValidation, type ValidationIssue } from './validation-message.js';

/** Every error leaves the API as {error: {code, message, hint, details}} with the code's HTTP status. */
export function ferryErrorHandler(log: Logger, limits: { bodyLimit: number }) {
  return function ferryApiErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    const ferr = toFerryError(err, limits);
    if (ferr.code === 'INTERNAL_ERROR') log.error({ err, url: request.url }, 'request failed');
    else log.debug({ code: ferr.code, url: request.url }, ferr.message);
    void reply.status(ferr.status).send({ error: ferr.toJSON() });
  };
}

/** The caller's mistakes the HTTP layer finds (schema, JSON, size) are bad input with a code, never INTERNAL_ERROR. */
function toFerryError(err: FastifyError, limits: { bodyLimit: number }): FerryError {
  if (err instanceof FerryError) return err;
  if (err.validation) {
    return new FerryError('INVALID_ARGUMENT', `invalid request: ${describeValidation(err.validation as ValidationIssue[], err.validationContext)}`, {
      details: { issues: err.validation },
    });
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
    return new FerryError('REQUEST_TOO_LARGE', `invalid request: the body is larger than the ${limits.bodyLimit / 1024 / 1024} MiB ferryd accepts`, {
      details: { limit: limits.bodyLimit },
    });
  }
  if (typeof err.code === 'string' && err.code.startsWith('FST_') && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new FerryError('INVALID_ARGUMENT', `invalid request: ${err.message}`, { details: { reason: err.code } });
  }
  return fromUnknown(err);
}
