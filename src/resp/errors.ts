import { isServiceError, stackError } from "../server/index.js";
import type { ErrorCode as StackErrorCode } from "../stack/index.js";
import { error, type Reply } from "./reply.js";

/** Redis's own wording for the syntax errors clients and people know. */
export const syntaxError = (): Reply => error("ERR", "syntax error");
export const notInteger = (): Reply => error("ERR", "value is not an integer or out of range");
export const wrongArity = (name: string): Reply =>
  error("ERR", `wrong number of arguments for '${name.toLowerCase()}' command`);

/**
 * A refused stack command, under the HTTP API's code in capitals (`-ITEM_TOO_LARGE item exceeds ...`),
 * so both protocols name an error alike. The idempotency key is the ONCE prefix's, not a header.
 */
export function stackFailure(code: StackErrorCode): Reply {
  if (code === "key_invalid") return error("KEY_INVALID", "ONCE key must be 1..128 bytes of UTF-8");
  const e = stackError(code);
  return error(e.code === "bad_request" ? "ERR" : e.code.toUpperCase(), e.message);
}

/** Where the client should go instead: the leader's id and the client URL this node knows for it. */
export type LeaderHint = (leader: number) => string;

/**
 * What the refused request was: a write, refused before it was applied (nothing applied), or a
 * linearizable read, which needs a leader to confirm this node's state (ReadIndex) and applies nothing.
 */
export type RequestKind = "read" | "write";

/**
 * A rejection of the service as a RESP error with the HTTP API's codes: -NOLEADER (nothing applied:
 * retry, on the named leader), -TIMEOUT (outcome unknown: retry with the same ONCE key), -STOPPED,
 * -BUSY. Undefined for anything else (a fault to log, answered -ERR internal). A follower forwards
 * writes to the leader, so -NOLEADER means no leader took it within the request timeout. A read has
 * no outcome to be unknown and nothing to apply: its -NOLEADER and -TIMEOUT say so.
 */
export function serviceFailure(
  err: unknown,
  leader: number,
  hint: LeaderHint,
  request: RequestKind,
): Reply | undefined {
  if (!isServiceError(err)) return undefined;
  switch (err.code) {
    case "not_leader":
    case "no_leader":
      if (request === "read") return readNoLeader(leader, hint);
      return leader > 0
        ? error(
            "NOLEADER",
            `this node is not the leader; node ${leader} is (${hint(leader)}); nothing was applied`,
          )
        : error("NOLEADER", "no leader known; nothing was applied, retry");
    case "timeout":
    case "too_large":
      if (request === "read") return error("TIMEOUT", `${err.message}; retry`);
      return error("TIMEOUT", `outcome unknown: ${err.message}; retry with the same ONCE key`);
    case "stopped":
      return error("STOPPED", `${err.message}; retry on another node`);
    case "busy":
    case "config_change_pending":
      return error("BUSY", `${err.message}; retry`);
    case "config_invalid":
    case "bad_request":
      return error("ERR", err.message);
    case "internal":
      return undefined;
  }
}

/**
 * Any node serves reads, so a refused read never means "go to the leader": the leader it waited for
 * was lost (another one is named) or none is known (a stale read still works).
 */
function readNoLeader(leader: number, hint: LeaderHint): Reply {
  return leader > 0
    ? error("NOLEADER", `the read lost its leader; node ${leader} is the leader now (${hint(leader)}); retry`)
    : error(
        "NOLEADER",
        "no leader known to confirm the read (ReadIndex); retry, or READONLY for a stale read",
      );
}
