/**
 * The messages processes exchange beside the queue: cancel requests (a marker and a pub/sub message,
 * written by any producer) and hand-off offers (between triggerers). Part of the wire protocol.
 */
import { z } from 'zod';

/** Version of the cancel and hand-off messages; a reader ignores what it cannot read. */
export const PROTOCOL_VERSION = 1;

/** How long a cancel marker lives: as long as BullMQ keeps a failed trigger job. */
export const CANCEL_MARKER_TTL_S = 7 * 86_400;

/**
 * A cancel request, as the marker's value and the channel's message (JSON). `jobTimestamp` is the
 * creation time of the job it was meant for, so a marker outliving its job never cancels a later
 * trigger that reuses the id.
 */
export const CancelRequestSchema = z.object({
  triggerId: z.string().min(1),
  reason: z.string().optional(),
  requestedAt: z.string(),
  jobTimestamp: z.number(),
});
export type CancelRequest = z.output<typeof CancelRequestSchema>;

/**
 * A hand-off announcement (JSON on the hand-off channel): the list its claims are on, and whether
 * claims are still being added (`streamed`: the list is complete once its complete flag is set).
 */
export interface HandOffAnnouncement {
  list: string;
  streamed?: boolean;
}
