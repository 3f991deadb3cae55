/** The status page: a live web page of the fleet, served by the triggerer's HTTP server. */
export { statusPage, type StatusPageOptions } from './page.js';
export { loadStatusToken, StatusToken, STATUS_TOKEN_ENV, type StatusTokenSources } from './token.js';
export { StatusPageError, InvalidStatusToken } from './errors.js';
export { CONTENT_SECURITY_POLICY } from './assets.js';
export type {
  Overview,
  FleetMember,
  EndpointOverview,
  JobRow,
  TriggerFilter,
  TriggerDetailView,
} from './reader.js';
