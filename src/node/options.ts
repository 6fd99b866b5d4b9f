import {
  SECURITY_FLAGS,
  SecurityFlagError,
  type SecurityOptions,
  validateSecurityOptions,
} from "./security-options.js";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
const logLevels: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Everything a node needs; `peerUrls[i]` and `clientUrls[i]` belong to node id i + 1. */
export interface NodeOptions {
  readonly id: number;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  /** Client HTTP port; 0 picks a free one (read it back from RunningNode.clientUrl). */
  readonly port: number;
  /** Interface the HTTP server binds; peers bind the host of their own peer URL. */
  readonly host?: string;
  /** Port of the Redis protocol listener (docs/resp.md), on the HTTP server's interface; none if absent. */
  readonly respPort?: number;
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

export const nodeDefaults = {
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
  id: { arg: "<n>", help: "this node's id, its 1-based position in --cluster (required unless one member)" },
  cluster: { arg: "<urls>", help: "every member's peer URL in id order, comma-separated (required)" },
  port: { arg: "<port>", help: "client HTTP port, 0 = any free one", default: "this node's client URL port" },
  host: {
    arg: "<host>",
    help: "interface the client HTTP (and RESP) server binds",
    default:
      "the host of this node's client URL, which is the peer URL's unless --client-urls says otherwise",
  },
  "resp-port": { arg: "<port>", help: "Redis protocol (RESP) port, 0 = any free one", default: "off" },
  "data-dir": { arg: "<dir>", help: "directory of the WAL and snapshots", default: "./raftstack-<id>" },
  "client-urls": { arg: "<urls>", help: "every member's client URL in id order", default: "peer port + 1" },
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
  join: { arg: "", help: "join a running cluster (not yet supported)" },
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
  | "config_unreadable"
  | "not_supported";

/** Operator errors in flags, environment or config file: the command prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code: UsageErrorCode;
  constructor(code: UsageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The seed's convention: a member's client port is its peer port + 1 on the same host (12379 → 12380). */
export function defaultClientUrl(peerUrl: string): string {
  const u = parseUrl(peerUrl, "--cluster");
  return `http://${u.hostname}:${Number(u.port) + 1}`;
}

function parseUrl(s: string, where: string): URL {
  try {
    const u = new URL(s);
    if (u.port === "") throw new Error("no port");
    return u;
  } catch (cause) {
    throw new UsageError("invalid_value", `${where}: not a URL with an explicit port: ${s}`, { cause });
  }
}

/**
 * Fills defaults and checks every node setting, wherever it came from (like etcd's Config.validate):
 * the one place that decides what a valid NodeOptions is.
 */
export function validateNodeOptions(input: NodeInput): NodeOptions {
  const where = (flag: NodeFlag) => input.from[flag] ?? `--${flag}`;
  const raw = (flag: NodeFlag) => input.values[flag];
  const int = (flag: NodeFlag, fallback: number, min: number, max: number): number => {
    const v = raw(flag);
    if (v === undefined) return fallback;
    const n =
      typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(
        "invalid_value",
        `${where(flag)}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
  const text = (flag: NodeFlag): string | undefined => {
    const v = raw(flag);
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v.trim() === "") {
      throw new UsageError(
        "invalid_value",
        `${where(flag)}: expected a non-empty string, got ${JSON.stringify(v)}`,
      );
    }
    return v.trim();
  };
  // A URL list is "a,b,c" from flags and the environment, or a YAML/JSON list from a file.
  const urls = (flag: NodeFlag): string[] | undefined => {
    const v = raw(flag);
    if (v === undefined) return undefined;
    const list = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : undefined;
    if (list === undefined || list.some((u) => typeof u !== "string")) {
      throw new UsageError(
        "invalid_value",
        `${where(flag)}: expected comma-separated URLs, got ${JSON.stringify(v)}`,
      );
    }
    const out = (list as string[]).map((u) => u.trim().replace(/\/+$/, ""));
    for (const u of out) parseUrl(u, where(flag));
    return out;
  };

  if (isOn(raw("join"), where("join"))) {
    throw new UsageError(
      "not_supported",
      `${where("join")} is not yet supported: the member list is fixed at start`,
    );
  }
  const peerUrls = urls("cluster");
  if (peerUrls === undefined) {
    throw new UsageError("missing_value", `--cluster is required (every member's peer URL, comma-separated)`);
  }
  // A missing id used to mean 1, which silently made a second node impersonate the first.
  if (raw("id") === undefined && peerUrls.length > 1) {
    throw new UsageError("missing_value", `--id is required: --cluster lists ${peerUrls.length} members`);
  }
  const id = int("id", 1, 1, peerUrls.length);
  let security: SecurityOptions;
  try {
    security = validateSecurityOptions(text, (flag) => isOn(raw(flag), where(flag)), where, peerUrls);
  } catch (err) {
    if (err instanceof SecurityFlagError) throw new UsageError("invalid_value", err.message, { cause: err });
    throw err;
  }
  const clientScheme = security.clientTls === undefined ? "http:" : "https:";
  const clientUrls =
    urls("client-urls") ?? peerUrls.map((u) => defaultClientUrl(u).replace(/^http:/, clientScheme));
  if (clientUrls.some((u) => new URL(u).protocol !== clientScheme)) {
    throw new UsageError(
      "invalid_value",
      `${where("client-urls")}: every client URL is ${clientScheme}// here`,
    );
  }
  if (clientUrls.length !== peerUrls.length) {
    throw new UsageError(
      "invalid_value",
      `${where("client-urls")} lists ${clientUrls.length} URLs, ${where("cluster")} ${peerUrls.length}`,
    );
  }
  const ownClientPort = Number(new URL(clientUrls[id - 1]!).port);
  const heartbeatTicks = int("heartbeat-ticks", nodeDefaults.heartbeatTicks, 1, TIMER_MS_MAX);
  const electionTicks = int("election-ticks", nodeDefaults.electionTicks, 2, TIMER_MS_MAX);
  if (electionTicks <= heartbeatTicks) {
    throw new UsageError(
      "invalid_value",
      `${where("election-ticks")} (${electionTicks}) must exceed ${where("heartbeat-ticks")} (${heartbeatTicks})`,
    );
  }
  const tickMs = int("tick-ms", nodeDefaults.tickMs, 1, Math.floor(TIMER_MS_MAX / electionTicks));
  const logLevel = text("log-level") ?? nodeDefaults.logLevel;
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw new UsageError(
      "invalid_value",
      `${where("log-level")}: expected one of ${logLevels.join(", ")}, got ${JSON.stringify(logLevel)}`,
    );
  }
  const host = text("host");
  const respPort = raw("resp-port") === undefined ? undefined : int("resp-port", 0, 0, PORT_MAX);
  return {
    id,
    peerUrls,
    clientUrls,
    port: int("port", ownClientPort, 0, PORT_MAX),
    ...(host === undefined ? {} : { host }),
    ...(respPort === undefined ? {} : { respPort }),
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

/** A switch: true from the command line or a file, or "true"/"1"/"false"/"0"/"" from the environment. */
function isOn(v: unknown, where: string): boolean {
  if (v === undefined || v === false || v === "false" || v === "0" || v === "") return false;
  if (v === true || v === "true" || v === "1") return true;
  throw new UsageError("invalid_value", `${where}: expected true or false, got ${JSON.stringify(v)}`);
}
