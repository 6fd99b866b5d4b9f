// The list commands a stack can serve, keyed by stack label: LPUSH/LPOP/BLPOP write, the rest read.
import type { Outcome, StackMachine } from "../stack/index.js";
import { type CommandSpec, type Prepared, parseInteger, replied, UNSTAMPED } from "./command-types.js";
import { notInteger, stackFailure, syntaxError } from "./errors.js";
import { globMatcher } from "./glob.js";
import { array, bulk, bulks, error, int, NIL, NIL_ARRAY, type Reply, simple } from "./reply.js";

/** Keys SCAN examines per call when COUNT is not given (Redis's default too). */
const SCAN_COUNT_DEFAULT = 10;
/** The largest COUNT a SCAN honours: one call stays a short read. */
const SCAN_COUNT_MAX = 10_000;
/** Longest BLPOP timeout in seconds that is not "forever": beyond it a timer would overflow. */
const BLOCK_SECONDS_MAX = 2_000_000;

/** Error outcomes of a pop or push; an absent or empty stack is `empty` (nil), as for a missing list. */
function outcomeReply(o: Outcome, ok: (o: Extract<Outcome, { ok: true }>) => Reply, empty: Reply): Reply {
  if (o.ok) return ok(o);
  return o.code === "stack_empty" || o.code === "stack_not_found" ? empty : stackFailure(o.code);
}

type Ok = Extract<Outcome, { ok: true }>;
const ZERO = int(0);
// The write commands' answers, made once: a closure, an inner closure and a reply object per command
// were garbage on every pipelined write.
export const pushedAnswer = (o: Outcome): Reply => outcomeReply(o, pushedSize, ZERO);
const pushedSize = (ok: Ok): Reply => int(ok.kind === "pushed" ? ok.size : 0);
const deletedAnswer = (o: Outcome): Reply => outcomeReply(o, deletedCount, ZERO);
const deletedCount = (ok: Ok): Reply => int(ok.kind === "deletedCount" ? ok.count : 0);
const poppedAnswer = (o: Outcome): Reply => outcomeReply(o, poppedItem, NIL);
const poppedItem = (ok: Ok): Reply => (ok.kind === "popped" ? bulk(ok.item) : NIL);

const read = (exec: (m: StackMachine) => Reply): Prepared => ({ kind: "read", exec });

function spec(
  name: string,
  arity: number,
  flags: readonly string[],
  keys: readonly [number, number, number],
  summary: string,
  prepare: CommandSpec["prepare"],
): CommandSpec {
  return { name, arity, flags, keys, group: "list", summary, prepare };
}

function keyspace(
  name: string,
  arity: number,
  flags: readonly string[],
  keys: readonly [number, number, number],
  summary: string,
  prepare: CommandSpec["prepare"],
): CommandSpec {
  return { ...spec(name, arity, flags, keys, summary, prepare), group: "generic" };
}

const del: CommandSpec["prepare"] = (args) => ({
  kind: "write",
  op: { type: "del", labels: args.slice(1), atMs: UNSTAMPED },
  answer: deletedAnswer,
});

/** `BLPOP key [key ...] timeout`: seconds, fractions allowed, 0 = no deadline. */
const blpop: CommandSpec["prepare"] = (args) => {
  const raw = args.at(-1) as string;
  const seconds = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (/^-[0-9]/.test(raw)) return replied(error("ERR", "timeout is negative"));
  if (!(seconds <= BLOCK_SECONDS_MAX)) return replied(error("ERR", "timeout is not a float or out of range"));
  return { kind: "block", labels: args.slice(1, -1), timeoutMs: Math.ceil(seconds * 1000) };
};

/** SCAN's cursor is the id of the last stack examined: ids only grow, so no key is missed or repeated. */
const scan: CommandSpec["prepare"] = (args) => {
  const cursor = parseInteger(args[1] as string);
  if (cursor === undefined || cursor < 0) return replied(error("ERR", "invalid cursor"));
  let count = SCAN_COUNT_DEFAULT;
  let match: ((key: string) => boolean) | undefined;
  let listsOnly = true;
  for (let i = 2; i < args.length; i += 2) {
    const option = (args[i] as string).toUpperCase();
    const value = args[i + 1];
    if (value === undefined) return replied(syntaxError());
    if (option === "MATCH") match = globMatcher(value);
    else if (option === "TYPE") listsOnly = value.toLowerCase() === "list";
    else if (option === "COUNT") {
      const n = parseInteger(value);
      if (n === undefined) return replied(notInteger());
      if (n < 1) return replied(syntaxError());
      count = Math.min(n, SCAN_COUNT_MAX);
    } else return replied(syntaxError());
  }
  return read((m) => {
    const page = m.listAfter(cursor, count);
    const next = page.length < count ? 0 : (page.at(-1)?.id ?? 0);
    const keys = listsOnly ? page.map((s) => s.label).filter((l) => match?.(l) ?? true) : [];
    return array([bulk(String(next)), bulks(keys)]);
  });
};

const oneEnd = (name: string, summary: string, arity: number): CommandSpec =>
  spec(name, arity, ["write"], [1, 1, 1], summary, () =>
    replied(
      error(
        "ERR",
        `${name} is not supported: a stack has one end (the top); use LPUSH, LPOP, BLPOP and LINDEX 0`,
      ),
    ),
  );

export const stackCommands: readonly CommandSpec[] = [
  spec(
    "LPUSH",
    -3,
    ["write", "denyoom", "fast"],
    [1, 1, 1],
    "Push items onto a stack (created if absent); returns its size",
    (args) => ({
      kind: "write",
      op: { type: "lpush", label: args[1] as string, items: args.slice(2), atMs: UNSTAMPED },
      answer: pushedAnswer,
    }),
  ),
  spec("LPOP", -2, ["write", "fast"], [1, 1, 1], "Pop the top item, or up to count items", (args) => {
    const label = args[1] as string;
    if (args.length === 2) {
      return {
        kind: "write",
        op: { type: "lpop", label, atMs: UNSTAMPED },
        answer: poppedAnswer,
      };
    }
    if (args.length > 3) return replied(syntaxError());
    const count = parseInteger(args[2] as string);
    if (count === undefined || count < 0)
      return replied(error("ERR", "value is out of range, must be positive"));
    // Redis answers a count of 0 with an empty array, or nil when there is no list: nothing to write.
    if (count === 0) return read((m) => ((m.sizeOf(label) ?? 0) > 0 ? array([]) : NIL_ARRAY));
    return {
      kind: "write",
      op: { type: "lpop", label, count, atMs: UNSTAMPED },
      answer: (o) =>
        outcomeReply(o, (ok) => (ok.kind === "poppedItems" ? bulks(ok.items) : NIL_ARRAY), NIL_ARRAY),
    };
  }),
  spec(
    "BLPOP",
    -3,
    ["write", "blocking"],
    [1, -2, 1],
    "Pop the top item of the first non-empty stack, waiting up to timeout seconds",
    blpop,
  ),
  spec(
    "LINDEX",
    3,
    ["readonly"],
    [1, 1, 1],
    "The item at an index from the top (0 = top, -1 = bottom)",
    (args) => {
      const index = parseInteger(args[2] as string);
      if (index === undefined) return replied(notInteger());
      return read((m) => {
        const item = m.at(args[1] as string, index);
        return item === undefined ? NIL : bulk(item);
      });
    },
  ),
  spec("LLEN", 2, ["readonly", "fast"], [1, 1, 1], "The size of a stack (0 if absent)", (args) =>
    read((m) => int(m.sizeOf(args[1] as string) ?? 0)),
  ),
  spec("LRANGE", 4, ["readonly"], [1, 1, 1], "Items start..stop from the top, top first", (args) => {
    const start = parseInteger(args[2] as string);
    const stop = parseInteger(args[3] as string);
    if (start === undefined || stop === undefined) return replied(notInteger());
    return read((m) => bulks(m.range(args[1] as string, start, stop) ?? []));
  }),
  keyspace("DEL", -2, ["write"], [1, -1, 1], "Delete stacks; returns how many existed", del),
  keyspace("UNLINK", -2, ["write", "fast"], [1, -1, 1], "Same as DEL", del),
  keyspace(
    "EXISTS",
    -2,
    ["readonly", "fast"],
    [1, -1, 1],
    "How many of the keys are stacks (an emptied stack exists until DEL)",
    (args) => read((m) => int(args.slice(1).filter((l) => m.sizeOf(l) !== undefined).length)),
  ),
  keyspace("TYPE", 2, ["readonly", "fast"], [1, 1, 1], "list for a stack, none otherwise", (args) =>
    read((m) => simple(m.sizeOf(args[1] as string) === undefined ? "none" : "list")),
  ),
  keyspace(
    "SCAN",
    -2,
    ["readonly"],
    [0, 0, 0],
    "Iterate over stack labels: SCAN cursor [MATCH pattern] [COUNT n] [TYPE list]",
    scan,
  ),
  keyspace("KEYS", 2, ["readonly"], [0, 0, 0], "Every stack label matching a glob pattern", (args) => {
    const match = globMatcher(args[1] as string);
    return read((m) =>
      bulks(
        m
          .list()
          .map((s) => s.label)
          .filter(match),
      ),
    );
  }),
  keyspace("DBSIZE", 1, ["readonly", "fast"], [0, 0, 0], "The number of stacks", () =>
    read((m) => int(m.stackCount)),
  ),
  oneEnd("RPUSH", "Not supported: a stack has one end", -3),
  oneEnd("RPOP", "Not supported: a stack has one end", -2),
  oneEnd("RPUSHX", "Not supported: a stack has one end", -3),
  oneEnd("BRPOP", "Not supported: a stack has one end", -3),
  oneEnd("RPOPLPUSH", "Not supported: a stack has one end", 3),
  oneEnd("BRPOPLPUSH", "Not supported: a stack has one end", 4),
  oneEnd("LMOVE", "Not supported: a stack has one end", 5),
  oneEnd("BLMOVE", "Not supported: a stack has one end", 6),
  oneEnd("LINSERT", "Not supported: a stack is changed at its top only", 5),
  oneEnd("LSET", "Not supported: a stack is changed at its top only", 4),
  oneEnd("LREM", "Not supported: a stack is changed at its top only", 4),
  oneEnd("LTRIM", "Not supported: a stack is changed at its top only", 4),
];

/** Commands on other Redis types: every raftstack key holds a stack, so they answer -WRONGTYPE. */
export const otherTypeCommands: readonly string[] = [
  "GET",
  "SET",
  "SETNX",
  "SETEX",
  "GETSET",
  "GETDEL",
  "APPEND",
  "STRLEN",
  "INCR",
  "INCRBY",
  "DECR",
  "DECRBY",
  "MGET",
  "MSET",
  "HSET",
  "HGET",
  "HGETALL",
  "HDEL",
  "HLEN",
  "HINCRBY",
  "SADD",
  "SREM",
  "SMEMBERS",
  "SCARD",
  "SPOP",
  "SISMEMBER",
  "ZADD",
  "ZREM",
  "ZRANGE",
  "ZCARD",
  "ZSCORE",
  "XADD",
  "XRANGE",
  "XLEN",
];

export function wrongType(): Reply {
  return error(
    "WRONGTYPE",
    "Operation against a key holding the wrong kind of value (raftstack keys hold stacks)",
  );
}
