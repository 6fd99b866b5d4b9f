// Connection and server commands, answered on this node without touching the log.
import type { ClusterView } from "../server/index.js";
import { type CommandContext, type CommandSpec, echoed, replied, type Session } from "./command-types.js";
import { syntaxError, wrongArity } from "./errors.js";
import { array, bulk, error, int, map, NIL, OK, type Reply, simple } from "./reply.js";

/** The Redis version raftstack's commands follow; clients pick features by it (redis-cli, ioredis). */
export const REDIS_VERSION = "7.0.0";

function conn(
  name: string,
  arity: number,
  flags: readonly string[],
  summary: string,
  prepare: CommandSpec["prepare"],
): CommandSpec {
  return { name, arity, flags, keys: [0, 0, 0], group: "connection", summary, prepare };
}

/** A client name is what CLIENT SETNAME accepts in Redis: no spaces, newlines or other control bytes. */
function setName(session: Session, name: string): Reply | undefined {
  if (/[^\x21-\x7e]/.test(name))
    return error("ERR", "Client names cannot contain spaces, newlines or special characters.");
  session.name = name === "" ? undefined : name;
  return undefined;
}

/**
 * HELLO says replica, INFO says slave, as Redis 7 does (clients parse both). A removed leader, handing off
 * its leadership, is no master: it serves no writes.
 */
function role(s: ClusterView, replica: "replica" | "slave"): string {
  return s.role === "leader" && s.removed !== true ? "master" : replica;
}

/** `HELLO [protover [AUTH username password] [SETNAME clientname]]`. */
function hello(args: readonly string[], ctx: CommandContext): Reply {
  const { session } = ctx;
  let proto = session.proto;
  let i = 1;
  if (args.length > 1) {
    const v = args[1] as string;
    if (v !== "2" && v !== "3") {
      return /^[0-9]+$/.test(v)
        ? error("NOPROTO", "unsupported protocol version")
        : error("ERR", "Protocol version is not an integer or out of range");
    }
    proto = Number(v) as 2 | 3;
    i = 2;
  }
  for (; i < args.length; i++) {
    const option = (args[i] as string).toUpperCase();
    if (option === "AUTH" && i + 2 < args.length) {
      if (!ctx.shared.authenticate(args[i + 1] as string, args[i + 2] as string)) return authFailed();
      session.authenticated = true;
      session.token = args[i + 2] as string;
      i += 2;
    } else if (option === "SETNAME" && i + 1 < args.length) {
      const refused = setName(session, args[++i] as string);
      if (refused) return refused;
    } else return error("ERR", `Syntax error in HELLO option '${args[i]}'`);
  }
  session.proto = proto;
  return map([
    ["server", bulk("redis")],
    ["version", bulk(REDIS_VERSION)],
    ["proto", int(proto)],
    ["id", int(session.id)],
    ["mode", bulk("standalone")],
    ["role", bulk(role(ctx.shared.service.status(), "replica"))],
    ["modules", array([])],
  ]);
}

function authFailed(): Reply {
  return error("WRONGPASS", "invalid username-password pair or user is disabled.");
}

function client(args: readonly string[], ctx: CommandContext): Reply {
  const sub = (args[1] as string).toUpperCase();
  const { session } = ctx;
  switch (sub) {
    case "SETNAME":
      return args.length === 3 ? (setName(session, args[2] as string) ?? OK) : wrongArity("client|setname");
    case "GETNAME":
      return session.name === undefined ? NIL : bulk(session.name);
    case "ID":
      return int(session.id);
    case "SETINFO":
      // Sent by newer clients (library name and version) on connect; nothing to keep.
      return args.length === 4 ? OK : wrongArity("client|setinfo");
    case "INFO":
      return bulk(`id=${session.id} name=${session.name ?? ""} db=0 resp=${session.proto}\n`);
    default:
      return error("ERR", `unknown subcommand '${args[1]}'. Try CLIENT HELP.`);
  }
}

function section(title: string, fields: readonly (readonly [string, string | number])[]): string {
  return `# ${title}\r\n${fields.map(([k, v]) => `${k}:${v}\r\n`).join("")}`;
}

/**
 * INFO's replication fields: Redis's (a leader is the master, every other member a slave of it) and the
 * Raft state behind them. A master's slaves are the members it replicates to now. A slave's link is up
 * while it follows a leader it knows; a node campaigning (even one that still names the last leader) has
 * lost it. master_host and master_port are left out: a node knows the leader's client URL, not its RESP
 * port. A removed node says so (raft_removed:1, only there, as the HTTP API's `removed`): it is a slave
 * whose link is down for good, whatever its Raft role.
 */
function replication(s: ClusterView, redisRole: string): [string, string | number][] {
  const raft: [string, string | number][] = [
    ["role", redisRole],
    ["raft_role", s.role],
    ["raft_leader", s.leader],
    ["raft_term", s.term],
    ["raft_commit", s.commit],
    ["raft_applied", s.applied],
  ];
  if (s.removed === true) raft.push(["raft_removed", 1]);
  if (redisRole === "master") return [...raft, ["connected_slaves", replicating(s)]];
  // Leader 0: none known (the node API's convention, as in /health).
  const linked = s.removed !== true && s.role === "follower" && s.leader !== 0;
  return [...raft, ["master_link_status", linked ? "up" : "down"], ["connected_slaves", 0]];
}

/**
 * The members this leader is replicating to: those in the replicate state (acknowledging its appends). A
 * member that is down, cut off or catching up by snapshot is in probe or snapshot state: Redis counts only
 * connected replicas too.
 */
function replicating(s: ClusterView): number {
  return s.members.filter((m) => m.id !== s.id && m.state === "replicate").length;
}

/**
 * INFO [section ...]: server, clients, persistence, stats, replication (Raft role, leader, term, commit),
 * commandstats, errorstats, keyspace, in Redis's order. Without a section (or default): every one but
 * commandstats, which Redis also leaves to all and everything.
 */
async function info(args: readonly string[], ctx: CommandContext): Promise<Reply> {
  const { service, stats } = ctx.shared;
  const wanted = new Set(args.slice(1).map((a) => a.toLowerCase()));
  const all = wanted.has("all") || wanted.has("everything");
  const byDefault = wanted.size === 0 || wanted.has("default");
  const s = service.status();
  const stacks = await service.read((m) => m.stackCount, true);
  const sections: [string, () => string][] = [
    [
      "server",
      () =>
        section("Server", [
          ["redis_version", REDIS_VERSION],
          ["redis_mode", "standalone"],
          ["process_id", process.pid],
          ["tcp_port", ctx.shared.port()],
          ["uptime_in_seconds", Math.floor((Date.now() - ctx.shared.startedMs) / 1000)],
          ["raft_node_id", s.id],
        ]),
    ],
    [
      "clients",
      () =>
        section("Clients", [
          ["connected_clients", ctx.shared.connections()],
          ["blocked_clients", ctx.shared.blocked()],
        ]),
    ],
    [
      "persistence",
      () =>
        section("Persistence", [
          ["loading", 0],
          ["aof_enabled", 1],
        ]),
    ],
    ["stats", () => section("Stats", stats.infoStats())],
    ["replication", () => section("Replication", replication(s, role(s, "slave")))],
    ["commandstats", () => section("Commandstats", stats.infoCommandstats())],
    ["errorstats", () => section("Errorstats", stats.infoErrorstats())],
    [
      "keyspace",
      () => section("Keyspace", stacks > 0 ? [["db0", `keys=${stacks},expires=0,avg_ttl=0`]] : []),
    ],
  ];
  const text = sections
    .filter(([name]) => all || wanted.has(name) || (byDefault && name !== "commandstats"))
    .map(([, render]) => render())
    .join("\r\n");
  return { t: "verbatim", s: text };
}

/** CONFIG GET for the parameters tools ask about (redis-benchmark: save, appendonly); SET is refused. */
const CONFIG: ReadonlyMap<string, string> = new Map([
  ["save", ""],
  ["appendonly", "yes"],
  ["appendfsync", "always"],
  ["databases", "1"],
]);

function config(args: readonly string[]): Reply {
  const sub = (args[1] as string).toUpperCase();
  if (sub !== "GET") return error("ERR", `CONFIG ${sub} is not supported by raftstack`);
  if (args.length < 3) return wrongArity("config|get");
  const out: Reply[] = [];
  for (const [k, v] of CONFIG) {
    if (args.slice(2).some((p) => p === "*" || p.toLowerCase() === k)) out.push(bulk(k), bulk(v));
  }
  return array(out);
}

export const adminCommands: readonly CommandSpec[] = [
  {
    ...conn("PING", -1, ["fast"], "PONG, or the message", (args) =>
      args.length > 2
        ? replied(wrongArity("ping"))
        : replied(args.length === 2 ? bulk(args[1] as string) : simple("PONG")),
    ),
    prepareBytes: echoed,
  },
  // redis-cli --pipe ends with an ECHO of 20 random bytes and waits for them back.
  {
    ...conn("ECHO", 2, ["fast"], "The message", (args) => replied(bulk(args[1] as string))),
    prepareBytes: echoed,
  },
  conn("HELLO", -1, ["fast"], "Handshake: protocol 2 or 3, optional AUTH and SETNAME", (args, ctx) =>
    replied(hello(args, ctx)),
  ),
  conn("AUTH", -2, ["fast"], "AUTH [username] password", (args, ctx) => {
    if (args.length > 3) return replied(syntaxError());
    const [user, password] =
      args.length === 3 ? [args[1] as string, args[2] as string] : ["default", args[1] as string];
    if (!ctx.shared.authenticate(user, password)) return replied(authFailed());
    ctx.session.authenticated = true;
    ctx.session.token = password;
    return replied(OK);
  }),
  conn("SELECT", 2, ["fast"], "Only database 0 exists", (args) =>
    replied(args[1] === "0" ? OK : error("ERR", "DB index is out of range")),
  ),
  conn("CLIENT", -2, [], "CLIENT SETNAME name | GETNAME | ID | INFO | SETINFO", (args, ctx) =>
    replied(client(args, ctx)),
  ),
  conn("QUIT", -1, ["fast"], "Close the connection after the replies before it", (_args, ctx) => {
    ctx.session.quitting = true;
    return replied(OK);
  }),
  conn(
    "READONLY",
    1,
    ["fast"],
    "Serve this connection's reads from this node's state, without ReadIndex (may be stale)",
    (_args, ctx) => {
      ctx.session.stale = true;
      return replied(OK);
    },
  ),
  conn("READWRITE", 1, ["fast"], "Linearizable reads again (the default)", (_args, ctx) => {
    ctx.session.stale = false;
    return replied(OK);
  }),
  {
    ...conn(
      "INFO",
      -1,
      [],
      "Server, clients, persistence, stats, replication (Raft role, leader, term, commit), commandstats, errorstats, keyspace",
      (args, ctx) => replied(info(args, ctx)),
    ),
    group: "server",
  },
  {
    ...conn("CONFIG", -2, [], "CONFIG GET of save, appendonly, appendfsync, databases", (args) =>
      replied(config(args)),
    ),
    group: "server",
  },
];
