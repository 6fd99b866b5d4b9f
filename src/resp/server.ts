import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import {
  type AccessControl,
  BlockingPops,
  type ClientGuard,
  listenOn,
  type StackService,
} from "../server/index.js";
import { commandNames } from "./command-table.js";
import type { Authenticator, Shared } from "./command-types.js";
import { RespConnection } from "./connection.js";
import { assertRespLimits, defaultRespLimits, type RespLimits } from "./limits.js";
import { type LiveCounts, RespStats } from "./stats.js";

export interface RespServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  readonly limits?: Partial<RespLimits>;
  /** AUTH's check; default: the token's role with `access`, else every AUTH passes. */
  readonly authenticate?: Authenticator;
  /** Tokens and roles: AUTH takes a token as its password and every other command needs its role. */
  readonly access?: AccessControl;
  /** Per-address connection limit and refusal counters, shared with the HTTP listener. */
  readonly guard?: ClientGuard;
  /** Serve RESP over TLS with these (the client listener's --cert-file and friends). */
  readonly tls?: TlsOptions;
  /**
   * Runs of plain LPUSH go to the leader as bytes (lpush-run.ts); default true. False: every request takes
   * the normal path (tests compare the two).
   */
  readonly fastLane?: boolean;
  /** Where the raftstack_resp_* metrics are registered (the node's); default: a registry of its own. */
  readonly registry?: Registry;
}

/** Time connections get to write their last replies on close before they are cut. */
const CLOSE_GRACE_MS = 200;

/**
 * The Redis protocol listener (docs/resp.md): RESP2 and RESP3 clients use the stacks as lists keyed
 * by label, with the HTTP API's guarantees: writes through Raft, linearizable reads unless READONLY,
 * exactly-once with the ONCE prefix, and the same error codes.
 */
export class RespServer {
  readonly server: Server;
  readonly stats: RespStats;
  readonly registry: Registry;
  private readonly limits: RespLimits;
  private readonly blocking: BlockingPops;
  private readonly sockets = new Set<Socket>();
  private nextClientId = 1;
  private boundPort = 0;
  private closing = false;
  /** Bytes of the sockets already closed (the open ones are read from the sockets). */
  private closedBytesRead = 0;
  private closedBytesWritten = 0;

  constructor(
    service: StackService,
    private readonly opts: RespServerOptions,
  ) {
    this.limits = { ...defaultRespLimits, ...opts.limits };
    assertRespLimits(this.limits);
    this.blocking = new BlockingPops(service, { waitersMax: this.limits.blockedMax });
    this.stats = new RespStats(commandNames(), () => this.live());
    this.registry = opts.registry ?? new Registry();
    this.stats.register(this.registry);
    const shared: Shared = {
      service,
      authenticate:
        opts.authenticate ??
        (opts.access === undefined ? () => true : (_user, token) => opts.access?.roleOf(token) !== undefined),
      ...(opts.access === undefined ? {} : { access: opts.access }),
      ...(opts.guard === undefined ? {} : { guard: opts.guard }),
      leaderHint: (leader) => service.clientUrl(leader) ?? `node ${leader}`,
      startedMs: Date.now(),
      stats: this.stats,
      closing: () => this.closing,
      port: () => this.boundPort,
      connections: () => this.sockets.size,
      blocked: () => this.blocking.waiting,
    };
    const deps = {
      shared,
      limits: this.limits,
      blocking: this.blocking,
      logger: opts.logger,
      fastLane: opts.fastLane ?? true,
    };
    // Half-open: a client that sends its requests and then shuts its side down still gets the replies.
    const refused = new WeakSet<Socket>();
    const onSocket = (socket: Socket) => {
      if (refused.has(socket)) return;
      this.stats.connectionOpened();
      this.sockets.add(socket);
      socket.once("close", () => {
        this.sockets.delete(socket);
        this.closedBytesRead += socket.bytesRead;
        this.closedBytesWritten += socket.bytesWritten;
      });
      new RespConnection(socket, this.nextClientId++, deps);
    };
    const tls = opts.tls !== undefined;
    if (opts.tls === undefined) this.server = createServer({ allowHalfOpen: true });
    else {
      const handshakeTimeout = this.limits.tlsHandshakeTimeoutMs;
      this.server = createTlsServer({ allowHalfOpen: true, handshakeTimeout, ...opts.tls }, onSocket);
      // Node closes a socket after most handshake errors but never after a handshake timeout: held
      // open, it would count towards connectionsMax and keep close() waiting.
      this.server.on("tlsClientError", (_err: Error, socket: Socket) => {
        this.stats.refused("tls_handshake");
        socket.destroy();
      });
    }
    this.server.maxConnections = this.limits.connectionsMax;
    this.server.on("drop", () => this.stats.refused("connections_max"));
    // Before the listener serves a plain socket, so a refused one is never served.
    opts.guard?.limitConnections(this.server, "resp", tls, (socket) => {
      refused.add(socket);
      this.stats.refused("connections_per_address");
    });
    if (!tls) this.server.on("connection", onSocket);
  }

  /** Connections open, and bytes read and written over all connections (INFO stats). */
  private live(): LiveCounts {
    let bytesRead = this.closedBytesRead;
    let bytesWritten = this.closedBytesWritten;
    for (const s of this.sockets) {
      bytesRead += s.bytesRead;
      bytesWritten += s.bytesWritten;
    }
    return { connections: this.sockets.size, bytesRead, bytesWritten };
  }

  async listen(): Promise<number> {
    this.boundPort = await listenOn(this.server, this.opts.port, this.opts.host);
    return this.boundPort;
  }

  /** Stops accepting, answers blocked pops (nothing popped) and cuts connections after a grace period. */
  async close(): Promise<void> {
    this.closing = true;
    this.blocking.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const timer = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, CLOSE_GRACE_MS);
    for (const s of this.sockets) s.end();
    await closed;
    clearTimeout(timer);
  }
}
