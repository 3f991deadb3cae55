/**
 * An HTTP agent whose connections are streams opened through an `EndpointTunnel` (SSH channels):
 * node:http pools and reuses them like sockets, by the same keep-alive rules.
 */
import { Agent, type AgentOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EndpointTarget, EndpointTunnel } from '../endpoint.js';

/** The tunnel could not open a stream; `message` says why, `code` is a system code when known. */
export class TunnelOpenError extends Error {
  override name = 'TunnelOpenError';
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An http.Agent that opens its connections through `tunnel` to `target`. */
export class TunnelAgent extends Agent {
  constructor(
    private readonly tunnel: EndpointTunnel,
    private readonly target: EndpointTarget,
    options: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(
    _options: unknown,
    callback: (error: Error | null, socket?: Duplex) => void,
  ): Socket {
    this.tunnel.open(this.target).then(
      (stream) => callback(null, asSocket(stream)),
      (error: unknown) => {
        const code = (error as { code?: unknown }).code;
        const message = error instanceof Error ? error.message : String(error);
        callback(new TunnelOpenError(message, typeof code === 'string' ? code : undefined, { cause: error }));
      },
    );
    // The connection comes through the callback (node:http supports an asynchronous one).
    return undefined as unknown as Socket;
  }
}

function noop(): void {}

/**
 * The stream as node:http uses a socket: the TCP methods it calls as no-ops (a channel has no TCP
 * options), and, like a TCP socket that does not allow half-open connections, destroyed and closed
 * once the far side ends it. An SSH channel stays writable after its peer (or the whole connection)
 * is gone and emits 'close' on its own terms: a kept-alive channel the agent still held as free was
 * reused after the connection dropped, and its request waited for the call timeout.
 */
function asSocket(stream: Duplex): Duplex {
  const socket = stream as Duplex & Record<string, unknown>;
  socket.setKeepAlive = noop;
  socket.setNoDelay = noop;
  socket.setTimeout = noop;
  socket.ref = noop;
  socket.unref = noop;
  socket.destroySoon = () => stream.destroy();
  let closed = false;
  stream.once('close', () => (closed = true));
  stream.once('end', () => {
    stream.destroy();
    // After ssh2's own 'close' (due in this tick when it comes): the agent must hear it once.
    setImmediate(() => closed || stream.emit('close'));
  });
  return stream;
}
