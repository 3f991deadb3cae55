/** Typed XML-RPC client for supervisord (being written: see issue 3). */
import type { SupervisorEndpoint } from './endpoint.js';
import type { ProcessInfo } from './states.js';

export class SupervisorClient {
  constructor(readonly endpoint: SupervisorEndpoint) {}

  async getAllProcessInfo(): Promise<ProcessInfo[]> {
    throw new Error('not implemented');
  }
}
