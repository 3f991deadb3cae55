/**
 * supervisor-triggerer's library entry point: the configuration layer, the supervisord client and
 * lifecycle, the task SDK, the triggerer and the contracts they share.
 */
export * from './protocol/index.js';
export * from './config/index.js';
export * from './supervisor/states.js';
export type { SupervisorEndpoint, EndpointTunnel, EndpointTarget } from './supervisor/endpoint.js';
export * from './supervisor/errors.js';
export { SupervisorClient } from './supervisor/client.js';
export * from './supervisor/lifecycle/index.js';
export * from './supervisor/host/index.js';
export * from './client/index.js';
export { Triggerer, type TriggererOptions } from './triggerer/daemon.js';
export { defineTrigger, type TriggerDefinition, type TriggerContext } from './triggerer/definition.js';
export { SharedPollers, pollPhase } from './triggerer/pollers.js';
export { ClaimingWorker, DEFAULT_CLAIM_LANES, type ClaimingWorkerOptions } from './queue/claims.js';
export { builtinTriggers, TriggerRegistry } from '../triggers/index.js';
export * from './jobs/index.js';
