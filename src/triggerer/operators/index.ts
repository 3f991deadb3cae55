/** The small RxJS operators the shared pollers and the built-in triggers are piped from. */
export { atTime } from './at-time.js';
export { exponentialBackoff, type BackoffOptions } from './backoff.js';
export { failAfterBudget, type FailAfterBudgetOptions } from './fail-after-budget.js';
export { firstMatching } from './first-matching.js';
export { pollEvery, type PollEveryOptions, type PollResult } from './poll-every.js';
export { selectPrograms, toProgramStates, UnknownProgramError } from './to-program-states.js';
