import type { AccessControl, ClientGuard, StackService } from "../server/index.js";
import type { Command, Outcome, StackMachine } from "../stack/index.js";
import type { LeaderHint } from "./errors.js";
import { bulkBytes, type Protocol, type Reply } from "./reply.js";
import type { RespStats } from "./stats.js";

/** Decides AUTH. With access control, a password that is a known token passes (docs/security.md). */
export type Authenticator = (username: string, password: string) => boolean;

/** What one connection's commands may read and change about it. */
export interface Session {
  readonly id: number;
  name: string | undefined;
  proto: Protocol;
  /** READONLY was sent: reads are served from this node's state without ReadIndex (may be stale). */
  stale: boolean;
  authenticated: boolean;
  /** The password of the last successful AUTH: with access control, the token checked on every command. */
  token: string | undefined;
  /** QUIT was sent: close once its +OK is written. */
  quitting: boolean;
}

/** What every connection of one listener shares. */
export interface Shared {
  readonly service: StackService;
  readonly authenticate: Authenticator;
  /** Tokens and roles (--auth-token-file); every command passes without. */
  readonly access?: AccessControl;
  /** Counts refusals (NOAUTH, NOPERM) in the node's metrics. */
  readonly guard?: ClientGuard;
  readonly leaderHint: LeaderHint;
  readonly startedMs: number;
  /** The listener's counters (INFO stats, commandstats, errorstats; the raftstack_resp_* metrics). */
  readonly stats: RespStats;
  /** The listener is closing: connections it ends count as shutdown. */
  closing(): boolean;
  port(): number;
  connections(): number;
  blocked(): number;
}

export interface CommandContext {
  readonly session: Session;
  readonly shared: Shared;
}

/**
 * A request turned into what the connection runs. `reply`: answered here (connection commands and
 * every argument error); `read`: run on the state machine with other reads of the pipeline, after
 * one ReadIndex; `write`: one replicated command; `block`: BLPOP.
 */
export type Prepared =
  | {
      readonly kind: "reply";
      readonly reply: Reply | Promise<Reply>;
      /** Refused before running (unknown command, arity, NOAUTH, NOPERM): Redis's rejected_calls. */
      readonly rejected?: true;
    }
  /** A reply already in wire form: bytes that are not text, which a Reply cannot carry (bulkBytes). */
  | { readonly kind: "bytes"; readonly wire: Buffer }
  | { readonly kind: "read"; readonly exec: (m: StackMachine) => Reply }
  | {
      readonly kind: "write";
      /** Stamped UNSTAMPED: the leader's driver stamps its own clock on every command it proposes. */
      readonly op: Command;
      readonly answer: (o: Outcome) => Reply;
      /** From the ONCE prefix. */
      readonly key?: string;
    }
  | {
      readonly kind: "block";
      readonly labels: readonly string[];
      readonly timeoutMs: number;
      readonly key?: string;
    };

export interface CommandSpec {
  /** Upper case, as clients send it (matching is case-insensitive). */
  readonly name: string;
  /** Redis convention: N exactly N arguments with the name, -N at least N. */
  readonly arity: number;
  /** As COMMAND reports them (write, readonly, fast, blocking, ...). */
  readonly flags: readonly string[];
  /** First key, last key (-1: the last argument, -2: the one before), step; 0 0 0 without keys. */
  readonly keys: readonly [number, number, number];
  readonly group: string;
  readonly summary: string;
  /** `args[0]` is the command name; arity is checked before. */
  prepare(args: readonly string[], ctx: CommandContext): Prepared;
  /**
   * For a command whose one argument may be any bytes (ECHO, PING's message), as in Redis: prepares
   * it when that argument is not UTF-8 (`prepare` takes strings). Without, such a request is refused.
   */
  readonly prepareBytes?: (message: Buffer) => Prepared;
}

/**
 * The timestamp a write carries until the leader proposes it (Driver.propose stamps every command with
 * its clock). A placeholder in the literal, not a property added later: adding one to every pipelined
 * write cost an allocation and a shape change each.
 */
export const UNSTAMPED = 0;

export const replied = (reply: Reply | Promise<Reply>): Prepared => ({ kind: "reply", reply });

/** The error that refuses a command before it runs. */
export const refused = (reply: Reply): Prepared => ({ kind: "reply", reply, rejected: true });

/** Answers `message` as it is, as a bulk string (ECHO, PING). */
export const echoed = (message: Buffer): Prepared => ({ kind: "bytes", wire: bulkBytes(message) });

/** A Redis integer argument (signed, at most 18 digits), or undefined. */
export function parseInteger(s: string): number | undefined {
  return /^-?[0-9]{1,18}$/.test(s) ? Number(s) : undefined;
}
