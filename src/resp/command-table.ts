// Every command the listener knows, and COMMAND / COMMAND DOCS generated from the same table.
import { adminCommands, REDIS_VERSION } from "./admin-commands.js";
import { type CommandSpec, replied } from "./command-types.js";

import { array, bulk, error, int, map, type Reply, simple } from "./reply.js";
import { otherTypeCommands, stackCommands, wrongType } from "./stack-commands.js";

/**
 * `ONCE <idempotency-key> <command> [arg ...]`: the write applied at most once per key, as the HTTP
 * Idempotency-Key header (same dedup table). The connection unwraps it; the spec is here for COMMAND.
 */
export const ONCE: CommandSpec = {
  name: "ONCE",
  arity: -3,
  flags: ["write"],
  keys: [0, 0, 0],
  group: "raftstack",
  summary: "Apply a write (LPUSH, LPOP, DEL, UNLINK, BLPOP) at most once per idempotency key",
  prepare: () => replied(error("ERR", "ONCE is handled by the connection")),
};

const commandCommand: CommandSpec = {
  name: "COMMAND",
  arity: -1,
  flags: [],
  keys: [0, 0, 0],
  group: "server",
  summary: "COMMAND [COUNT | INFO name ... | DOCS [name ...] | LIST]",
  prepare: (args) => replied(command(args)),
};

const table: readonly CommandSpec[] = [...stackCommands, ...adminCommands, ONCE, commandCommand];
const byName = new Map(table.map((c) => [c.name, c] as const));
const otherTypes = new Set(otherTypeCommands);

/** Every command name the listener counts apart (RespStats): its own and those of other Redis types. */
export function commandNames(): string[] {
  return [...table.map((c) => c.name), ...otherTypeCommands];
}

/** The spec of `name` (any case), or the reply for a command that has none. */
export function lookup(name: string): CommandSpec | Reply {
  // Clients send names in upper case: found as is, the name is not copied into upper case.
  const exact = byName.get(name);
  if (exact !== undefined) return exact;
  const upper = name.toUpperCase();
  const found = byName.get(upper);
  if (found !== undefined) return found;
  if (otherTypes.has(upper)) return wrongType();
  return error("ERR", `unknown command '${name.slice(0, 128)}'`);
}

/** Redis 7's ten-field COMMAND entry: name, arity, flags, keys, and empty ACL categories, tips, key specs, subcommands. */
function entry(c: CommandSpec): Reply {
  const [first, last, step] = c.keys;
  return array([
    bulk(c.name.toLowerCase()),
    int(c.arity),
    array(c.flags.map(simple)),
    int(first),
    int(last),
    int(step),
    array([]),
    array([]),
    array([]),
    array([]),
  ]);
}

function docs(c: CommandSpec): Reply {
  return map([
    ["summary", bulk(c.summary)],
    ["since", bulk(REDIS_VERSION)],
    ["group", bulk(c.group)],
  ]);
}

function command(args: readonly string[]): Reply {
  if (args.length === 1) return array(table.map(entry));
  const sub = (args[1] as string).toUpperCase();
  const named = args.slice(2).map((n) => byName.get(n.toUpperCase()));
  switch (sub) {
    case "COUNT":
      return int(table.length);
    case "LIST":
      return array(table.map((c) => bulk(c.name.toLowerCase())));
    case "INFO":
      return array(named.map((c) => (c === undefined ? { t: "nilArray" } : entry(c))));
    case "DOCS": {
      const chosen = args.length === 2 ? table : named.filter((c) => c !== undefined);
      return map(chosen.map((c) => [c.name.toLowerCase(), docs(c)] as const));
    }
    default:
      return error("ERR", `unknown subcommand '${args[1]}'. Try COMMAND HELP.`);
  }
}
