/** Where and how to reach one supervisord's XML-RPC interface. */
import type { Duplex } from 'node:stream';

export interface SupervisorEndpoint {
  /** `unix:///abs/path/supervisor.sock` or `http://host:port/RPC2` (no credentials in the URL). */
  url: string;
  /** Basic-auth user; without it no Authorization header is sent. */
  username?: string;
  password?: string;
  /** Per-call timeout in ms. @default 10000 */
  timeoutMs?: number;
  /**
   * Reach `url` through this tunnel instead of dialing it: the URL then names a socket or a port on
   * the tunnel's far side (an SSH host's). @default dialed directly
   */
  tunnel?: EndpointTunnel;
  /**
   * Push mode: the supervisord runs the push listener (docs/push.md), so watchers learn of a state
   * change from it at once and poll only to reconcile. @default none: polled only
   */
  push?: EndpointPush;
}

/** How an endpoint pushes its state changes. */
export interface EndpointPush {
  /** The push listener's process name (`group:name` or `name`). */
  listener: string;
  /** How often its watchers still poll, to catch what a lost push missed. */
  reconcileMs: number;
}

/** The socket or TCP port an endpoint URL names. */
export type EndpointTarget = { socketPath: string } | { host: string; port: number };

/** A way to a supervisord that is not dialed directly: one byte stream per HTTP connection. */
export interface EndpointTunnel {
  /** Names the way in messages, e.g. `ssh deploy@box-3:22`. */
  readonly name: string;
  /** Opens a stream to `target` on the far side. */
  open(target: EndpointTarget): Promise<Duplex>;
}
