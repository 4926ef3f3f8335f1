/** The lock-holder call's messages: another host's lock-clear asks whether this host holds a resource. */
import type { Static } from '@sinclair/typebox';
import { closed, nonEmpty, optional, record, text } from '../typed-schema.js';

export const holderQuerySchema = closed({ resource: nonEmpty() });

/** This host's answer for a resource. */
export const holderReplySchema = record({
  host: text(),
  domain: optional(text('A domain here holds the resource or runs with a disk it protects')),
});
export type HolderReport = Static<typeof holderReplySchema>;
