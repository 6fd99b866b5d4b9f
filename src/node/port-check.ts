import { createServer, type Server } from "node:net";
import { parsePeerUrl } from "../transport/index.js";
import type { NodeOptions } from "./options.js";

/** One address a node listens on, and the setting that gave it its port (for the error). */
export interface Listener {
  readonly host: string;
  readonly port: number;
  /** `--port`, `RAFTSTACK_RESP_PORT`, `--cluster (node 2's peer URL)`... */
  readonly source: string;
}

/**
 * A node cannot listen where its settings say: `port_in_use` (by another process, or by two of its own
 * settings), `listen_failed` (another reason: a port below 1024, an address not on this machine). The node
 * did not start and created nothing.
 */
export class ListenerError extends Error {
  override readonly name = "ListenerError";
  constructor(
    readonly code: "port_in_use" | "listen_failed",
    readonly listener: Listener,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The node's client, peer and RESP listeners (port 0 picks a free one: nothing to check). */
export function nodeListeners(options: NodeOptions): Listener[] {
  const peer = parsePeerUrl(options.listenPeerUrl);
  const { host } = options.listenClient;
  const listeners: Listener[] = [
    { ...options.listenClient, source: options.portSources.client },
    { ...peer, source: options.portSources.peer },
  ];
  if (options.respPort !== undefined)
    listeners.push({ host, port: options.respPort, source: options.portSources.resp });
  return listeners.filter((l) => l.port !== 0);
}

/**
 * Binds each listener's address once, all at the same time, and lets them go: a start checks its ports
 * before it creates its data dir, so a port in use (by another process, or twice by this node's own
 * settings) fails it with nothing left behind. Throws ListenerError naming the port and its setting.
 */
export async function checkPortsFree(listeners: readonly Listener[]): Promise<void> {
  const bound: Server[] = [];
  try {
    for (const [i, l] of listeners.entries()) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(l.port, l.host, () => resolve());
      }).catch((err: NodeJS.ErrnoException) => {
        throw portError(l, listeners.slice(0, i), err);
      });
      bound.push(server);
    }
  } finally {
    await Promise.all(bound.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function portError(l: Listener, earlier: readonly Listener[], err: NodeJS.ErrnoException): ListenerError {
  const at = `port ${l.port} (${l.source}, on ${l.host})`;
  const cause = { cause: err };
  if (err.code !== "EADDRINUSE")
    return new ListenerError("listen_failed", l, `cannot listen on ${at}: ${err.message}`, cause);
  const own = earlier.find((e) => e.port === l.port);
  const message =
    own === undefined
      ? `${at} is in use by another process`
      : `port ${l.port} is set twice: ${own.source} and ${l.source}`;
  return new ListenerError("port_in_use", l, message, cause);
}
