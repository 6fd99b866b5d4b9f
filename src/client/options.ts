// The client's options and their defaults: what a caller may set, per client and per call.

export interface ClientOptions {
  /** Client URLs of the nodes, e.g. ["http://127.0.0.1:12380"]; any node answers any request. */
  readonly endpoints: readonly string[];
  /** Time allowed for one attempt (connect, send, full answer). */
  readonly timeoutMs?: number;
  /** Time allowed for the whole call, retries and backoff included. */
  readonly deadlineMs?: number;
  /** Attempts after the first one; each goes to another endpoint. */
  readonly retries?: number;
  /** First backoff delay; it doubles per retry up to backoffMaxMs, then gets 50-100% jitter. */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** Keep-alive connections per endpoint. */
  readonly connectionsMax?: number;
  /** Answers larger than this are rejected (a full listStacks is the largest one). */
  readonly responseBytesMax?: number;
  /** Sent as `Authorization: Bearer <token>` when the cluster requires tokens (docs/security.md). */
  readonly token?: string;
  /** For https:// endpoints: the CA that signed the nodes' certificates, and a client certificate and key. */
  readonly tls?: ClientTls;
}

/** PEM text or bytes, as node:tls takes them. */
export interface ClientTls {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

/** Per-call options of every method. */
export interface CallOptions {
  /**
   * Aborting it ends the call at once (the attempt in flight and any backoff) with code "aborted"; for a
   * write the outcome is then unknown, as after "unavailable".
   */
  readonly signal?: AbortSignal;
}

/** Options of the writes (createStack, push, pop, deleteStack). */
export interface WriteOptions extends CallOptions {
  /**
   * The Idempotency-Key sent with every attempt (default: a fresh random one per call). A program that
   * got "unavailable" or "deadline_exceeded" retries the call with the same key and it is applied once.
   */
  readonly idempotencyKey?: string;
}

/** Options of the reads (stackId, top, size, listStacks). */
export interface ReadOptions extends CallOptions {
  /** Answer from the node's own state without confirming leadership (`?stale=1`): faster, may lag. */
  readonly stale?: boolean;
}

export const TIMEOUT_MS_DEFAULT = 1000;
export const DEADLINE_MS_DEFAULT = 10_000;
export const RETRIES_DEFAULT = 10;
export const BACKOFF_BASE_MS_DEFAULT = 25;
export const BACKOFF_MAX_MS_DEFAULT = 1000;
export const CONNECTIONS_MAX_DEFAULT = 16;
export const RESPONSE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
