/**
 * The wire protocol: what other processes, and programs in other languages, depend on. Each part is
 * versioned and changes only compatibly within a version:
 *
 * - the trigger record a task puts on the `triggers` queue and the TriggerEvent it gets back
 *   (record.ts, `v: 1`, JSON Schemas from `config schema --record / --event`);
 * - every Redis key and channel beside BullMQ's own, from the one prefix (keys.ts);
 * - the messages on those channels and in those keys: cancel requests and hand-off offers
 *   (messages.ts, `PROTOCOL_VERSION`);
 * - the program logs an event about programs may carry in its payload (logs.ts), and the log lines
 *   of each trigger kept in Redis (trigger-log.ts).
 *
 * docs/triggerer.md documents them for producers in any language.
 */
export * from './record.js';
export * from './keys.js';
export * from './messages.js';
export * from './logs.js';
export * from './trigger-log.js';
