import { bindHost, isWildcardHost, originOf, parseClusterList, parseUrl } from "./addresses.js";
import {
  SECURITY_FLAGS,
  SecurityFlagError,
  type SecurityOptions,
  validateSecurityOptions,
} from "./security-options.js";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
const logLevels: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** A member the cluster starts with (`--cluster`); client URLs come from `--client-urls`, if given. */
export interface InitialMember {
  readonly id: number;
  readonly peerUrl: string;
  readonly clientUrl?: string;
}

/** Everything a node needs. */
export interface NodeOptions {
  readonly id: number;
  /**
   * `--cluster`: the members a new cluster starts with, by id. Once the cluster has run, the member
   * table replicated in its log and snapshots is the truth; a differing list is logged and ignored.
   */
  readonly members: readonly InitialMember[];
  /** Join a running cluster: start with no configuration, never campaign, learn all from the leader. */
  readonly join: boolean;
  /** Every peer handshake carries the id derived from it; peers of another cluster are refused. */
  readonly clusterToken: string;
  /** Where the peer listener binds (`--listen-peer-url`). */
  readonly listenPeerUrl: string;
  /** Where the client HTTP server binds; port 0 picks a free one (read it back from RunningNode.clientUrl). */
  readonly listenClient: { readonly host: string; readonly port: number };
  /** This node's client URL as the others see it; port 0 stands for the port actually bound. */
  readonly advertiseClientUrl: string;
  /** Port of the Redis protocol listener (docs/resp.md), on the client listener's host; none if absent. */
  readonly respPort?: number;
  /** The setting each listener's port came from (`--port`, `RAFTSTACK_RESP_PORT`...), for a port in use. */
  readonly portSources: { readonly client: string; readonly peer: string; readonly resp: string };
  readonly dataDir: string;
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  /** Applied entries between two state-machine snapshots. */
  readonly snapshotEntries: number;
  readonly requestTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Access control and TLS (docs/security.md); all off when absent. */
  readonly security?: SecurityOptions;
}

/** This node's own entry of `--cluster`. */
export function selfMember(options: Pick<NodeOptions, "id" | "members">): InitialMember {
  const self = options.members.find((m) => m.id === options.id);
  if (self === undefined) throw new Error(`node id ${options.id} is not in the cluster list`);
  return self;
}

export const nodeDefaults = {
  clusterToken: "raftstack",
  tickMs: 10,
  heartbeatTicks: 3,
  electionTicks: 15,
  snapshotEntries: 10_000,
  requestTimeoutMs: 1000,
  logLevel: "info" as LogLevel,
};

/** Node's timers take a signed 32-bit delay; a longer one fires at once instead of late. */
export const TIMER_MS_MAX = 2_147_483_647;
const PORT_MAX = 65_535;

/**
 * Every node flag, by its name on the command line (`--data-dir`), in the environment
 * (`RAFTSTACK_DATA_DIR`, see envNameOf) and in a config file (`data-dir:`). `arg` is the help
 * placeholder; a flag without one is a switch.
 */
export const NODE_FLAGS = {
  id: { arg: "<n>", help: "this node's id in --cluster (required unless one member)" },
  cluster: {
    arg: "<urls>",
    help: "the members a new cluster starts with: peer URLs in id order (ids 1..n) or id=URL,... (required)",
  },
  join: { arg: "", help: "join a running cluster as a new member (add it first: raftstack member add)" },
  "cluster-token": {
    arg: "<token>",
    help: "cluster identity checked in every peer handshake",
    default: nodeDefaults.clusterToken,
  },
  port: { arg: "<port>", help: "client HTTP port, 0 = any free one", default: "peer port + 1" },
  host: { arg: "<host>", help: "interface the client HTTP server binds", default: "the peer URL's host" },
  "listen-peer-url": {
    arg: "<url>",
    help: "where the peer listener binds",
    default: "this node's --cluster URL",
  },
  "listen-client-url": {
    arg: "<url>",
    help: "where the client HTTP server binds",
    default: "http://<host>:<port>",
  },
  "advertise-client-url": {
    arg: "<url>",
    help: "this node's client URL as clients and other nodes reach it",
    default: "the peer URL's host and --port",
  },
  "resp-port": { arg: "<port>", help: "Redis protocol (RESP) port, 0 = any free one", default: "off" },
  "data-dir": { arg: "<dir>", help: "directory of the WAL and snapshots", default: "./raftstack-<id>" },
  "client-urls": {
    arg: "<urls>",
    help: "initial client URLs of the --cluster members, in its order",
    default: "none",
  },
  "tick-ms": { arg: "<ms>", help: "Raft tick", default: String(nodeDefaults.tickMs) },
  "heartbeat-ticks": {
    arg: "<n>",
    help: "ticks between heartbeats",
    default: String(nodeDefaults.heartbeatTicks),
  },
  "election-ticks": {
    arg: "<n>",
    help: "election timeout in ticks",
    default: String(nodeDefaults.electionTicks),
  },
  "snapshot-entries": {
    arg: "<n>",
    help: "applied entries between snapshots",
    default: String(nodeDefaults.snapshotEntries),
  },
  "request-timeout-ms": {
    arg: "<ms>",
    help: "time a request waits for commit",
    default: String(nodeDefaults.requestTimeoutMs),
  },
  "log-level": { arg: "<level>", help: logLevels.join(", "), default: nodeDefaults.logLevel },
  ...SECURITY_FLAGS,
} as const satisfies Record<string, { arg: string; help: string; default?: string }>;

export type NodeFlag = keyof typeof NODE_FLAGS;
export const nodeFlagNames = Object.keys(NODE_FLAGS) as NodeFlag[];

/** `data-dir` → `RAFTSTACK_DATA_DIR`. */
export function envNameOf(flag: string): string {
  return `RAFTSTACK_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/**
 * Raw node settings as they arrive from flags and the environment (strings) or a config file (YAML
 * scalars and lists), before validation. `from` names where each one came from, for error messages.
 */
export interface NodeInput {
  readonly values: Partial<Record<NodeFlag, unknown>>;
  readonly from: Partial<Record<NodeFlag, string>>;
}

export type UsageErrorCode =
  | "missing_value"
  | "invalid_value"
  | "unknown_option"
  | "unknown_command"
  | "config_unreadable";

/** Operator errors in flags, environment or config file: the command prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code: UsageErrorCode;
  constructor(code: UsageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Fills defaults and checks every node setting, wherever it came from (like etcd's Config.validate):
 * the one place that decides what a valid NodeOptions is.
 */
export function validateNodeOptions(input: NodeInput): NodeOptions {
  const where = (flag: NodeFlag) => input.from[flag] ?? `--${flag}`;
  const raw = (flag: NodeFlag) => input.values[flag];
  const problem = (message: string, cause?: unknown) => new UsageError("invalid_value", message, { cause });
  const int = (flag: NodeFlag, fallback: number, min: number, max: number): number => {
    const v = raw(flag);
    if (v === undefined) return fallback;
    const n =
      typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw problem(`${where(flag)}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  const text = (flag: NodeFlag): string | undefined => {
    const v = raw(flag);
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v.trim() === "") {
      throw problem(`${where(flag)}: expected a non-empty string, got ${JSON.stringify(v)}`);
    }
    return v.trim();
  };
  // A list is "a,b,c" from flags and the environment, or a YAML/JSON list from a file.
  const list = (flag: NodeFlag): string[] | undefined => {
    const v = raw(flag);
    if (v === undefined) return undefined;
    const items = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : undefined;
    if (items === undefined || items.some((u) => typeof u !== "string")) {
      throw problem(`${where(flag)}: expected comma-separated URLs, got ${JSON.stringify(v)}`);
    }
    return items as string[];
  };
  const url = (flag: NodeFlag): URL | undefined => {
    const v = text(flag);
    return v === undefined ? undefined : parseUrl(v, where(flag), problem);
  };

  const clusterList = list("cluster");
  if (clusterList === undefined) {
    throw new UsageError("missing_value", "--cluster is required (the members' peer URLs, comma-separated)");
  }
  let members = parseClusterList(clusterList, where("cluster"), problem);
  // A missing id used to mean 1, which silently made a second node impersonate the first.
  if (raw("id") === undefined && members.length > 1) {
    throw new UsageError("missing_value", `--id is required: --cluster lists ${members.length} members`);
  }
  const id = int("id", members[0]?.id ?? 1, 1, Number.MAX_SAFE_INTEGER);
  const selfIndex = members.findIndex((m) => m.id === id);
  const self = members[selfIndex];
  if (self === undefined) {
    const ids = members.map((m) => m.id).join(", ");
    throw problem(`${where("id")}: ${id} is not a member of ${where("cluster")} (ids ${ids})`);
  }
  let security: SecurityOptions;
  try {
    const peerUrls = members.map((m) => m.peerUrl);
    security = validateSecurityOptions(text, (flag) => isOn(raw(flag), where(flag)), where, peerUrls);
  } catch (err) {
    if (err instanceof SecurityFlagError) throw new UsageError("invalid_value", err.message, { cause: err });
    throw err;
  }
  const clientUrls = list("client-urls")?.map((u) => originOf(parseUrl(u, where("client-urls"), problem)));
  if (clientUrls !== undefined) {
    if (clientUrls.length !== members.length) {
      throw problem(
        `${where("client-urls")} lists ${clientUrls.length} URLs, ${where("cluster")} ${members.length}`,
      );
    }
    members = members.map((m, i) => ({ ...m, clientUrl: clientUrls[i] as string }));
  }
  const peer = new URL(self.peerUrl);
  const listenClientUrl = url("listen-client-url");
  if (listenClientUrl !== undefined && (raw("port") !== undefined || raw("host") !== undefined)) {
    throw problem(`${where("listen-client-url")} sets host and port: drop --port and --host`);
  }
  const ownClientUrl = clientUrls?.[selfIndex];
  // The seed's layout (client port = peer port + 1) is only this node's own default: other nodes'
  // client URLs are never guessed, each node publishes its own.
  const defaultPort = ownClientUrl === undefined ? Number(peer.port) + 1 : Number(new URL(ownClientUrl).port);
  const listenClient =
    listenClientUrl === undefined
      ? {
          host: text("host") ?? bindHost(peer),
          port: int("port", Math.min(defaultPort, PORT_MAX), 0, PORT_MAX),
        }
      : { host: bindHost(listenClientUrl), port: Number(listenClientUrl.port) };
  const advertised = url("advertise-client-url");
  if (advertised !== undefined && Number(advertised.port) === 0) {
    throw problem(`${where("advertise-client-url")}: a published URL needs a real port`);
  }
  const clientScheme = security.clientTls === undefined ? "http:" : "https:";
  const advertiseHost = isWildcardHost(listenClient.host) ? peer.hostname : urlHost(listenClient.host);
  const advertiseClientUrl =
    advertised === undefined
      ? (ownClientUrl ?? `${clientScheme}//${advertiseHost}:${listenClient.port}`)
      : originOf(advertised);
  const heartbeatTicks = int("heartbeat-ticks", nodeDefaults.heartbeatTicks, 1, TIMER_MS_MAX);
  const electionTicks = int("election-ticks", nodeDefaults.electionTicks, 2, TIMER_MS_MAX);
  if (electionTicks <= heartbeatTicks) {
    throw problem(
      `${where("election-ticks")} (${electionTicks}) must exceed ${where("heartbeat-ticks")} (${heartbeatTicks})`,
    );
  }
  const tickMs = int("tick-ms", nodeDefaults.tickMs, 1, Math.floor(TIMER_MS_MAX / electionTicks));
  const logLevel = text("log-level") ?? nodeDefaults.logLevel;
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw problem(
      `${where("log-level")}: expected one of ${logLevels.join(", ")}, got ${JSON.stringify(logLevel)}`,
    );
  }
  const respPort = raw("resp-port") === undefined ? undefined : int("resp-port", 0, 0, PORT_MAX);
  const portSources = {
    client:
      listenClientUrl !== undefined
        ? where("listen-client-url")
        : raw("port") !== undefined
          ? where("port")
          : ownClientUrl !== undefined
            ? `${where("client-urls")}, node ${id}'s entry`
            : `${where("port")} default, the peer port + 1`,
    peer:
      raw("listen-peer-url") !== undefined
        ? where("listen-peer-url")
        : `${where("cluster")}, node ${id}'s URL`,
    resp: where("resp-port"),
  };
  return {
    id,
    members,
    join: isOn(raw("join"), where("join")),
    clusterToken: text("cluster-token") ?? nodeDefaults.clusterToken,
    listenPeerUrl: originOf(url("listen-peer-url") ?? peer),
    listenClient,
    advertiseClientUrl,
    ...(respPort === undefined ? {} : { respPort }),
    portSources,
    ...(Object.keys(security).length === 0 ? {} : { security }),
    dataDir: text("data-dir") ?? `./raftstack-${id}`,
    tickMs,
    heartbeatTicks,
    electionTicks,
    snapshotEntries: int("snapshot-entries", nodeDefaults.snapshotEntries, 1, Number.MAX_SAFE_INTEGER),
    requestTimeoutMs: int("request-timeout-ms", nodeDefaults.requestTimeoutMs, 1, TIMER_MS_MAX),
    logLevel: logLevel as LogLevel,
    ...(Object.keys(security).length === 0 ? {} : { security }),
  };
}

/** A host as it goes into a URL: IPv6 in brackets. */
function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** A switch: true from the command line or a file, or "true"/"1"/"false"/"0"/"" from the environment. */
function isOn(v: unknown, where: string): boolean {
  if (v === undefined || v === false || v === "false" || v === "0" || v === "") return false;
  if (v === true || v === "true" || v === "1") return true;
  throw new UsageError("invalid_value", `${where}: expected true or false, got ${JSON.stringify(v)}`);
}
