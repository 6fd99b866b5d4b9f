import { parseArgs } from "node:util";

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
  readonly dataDir: string;
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  /** Applied entries between two state-machine snapshots. */
  readonly snapshotEntries: number;
  readonly requestTimeoutMs: number;
  readonly logLevel: LogLevel;
}

export const nodeDefaults = {
  tickMs: 10,
  heartbeatTicks: 3,
  electionTicks: 15,
  snapshotEntries: 10_000,
  requestTimeoutMs: 1000,
  logLevel: "info" as LogLevel,
};

/** Operator errors in flags: main prints the message and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The seed's convention: a member's client port is its peer port + 1 on the same host (12379 → 12380). */
export function defaultClientUrl(peerUrl: string): string {
  const u = parseUrl(peerUrl, "--cluster");
  return `http://${u.hostname}:${Number(u.port) + 1}`;
}

function parseUrl(s: string, flag: string): URL {
  try {
    const u = new URL(s);
    if (u.port === "") throw new Error("no port");
    return u;
  } catch {
    throw new UsageError(`${flag}: not a URL with an explicit port: ${s}`);
  }
}

function intFlag(v: string | undefined, flag: string, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

const flagSpec = {
  id: { type: "string" },
  cluster: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  "data-dir": { type: "string" },
  "client-urls": { type: "string" },
  "tick-ms": { type: "string" },
  "heartbeat-ticks": { type: "string" },
  "election-ticks": { type: "string" },
  "snapshot-entries": { type: "string" },
  "request-timeout-ms": { type: "string" },
  "log-level": { type: "string" },
  join: { type: "boolean" },
} as const;

/**
 * Parses the seed-compatible node flags (`--id 1 --cluster URL,... --port 12380` plus ours).
 * Throws UsageError with a one-line reason on bad input.
 */
export function parseNodeArgs(argv: readonly string[]): NodeOptions {
  let values: {
    [K in keyof typeof flagSpec]?: (typeof flagSpec)[K]["type"] extends "boolean" ? boolean : string;
  };
  try {
    values = parseArgs({ args: [...argv], options: flagSpec, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.join) throw new UsageError("--join is not yet supported");
  if (values.cluster === undefined) throw new UsageError("--cluster is required (comma-separated peer URLs)");
  const peerUrls = values.cluster.split(",").map((s) => s.trim());
  for (const u of peerUrls) parseUrl(u, "--cluster");
  const id = intFlag(values.id, "--id", 1, 1);
  if (id > peerUrls.length) throw new UsageError(`--id ${id} but --cluster lists ${peerUrls.length} members`);
  const clientUrls =
    values["client-urls"] === undefined
      ? peerUrls.map(defaultClientUrl)
      : values["client-urls"].split(",").map((s) => s.trim().replace(/\/+$/, ""));
  if (clientUrls.length !== peerUrls.length) {
    throw new UsageError(`--client-urls lists ${clientUrls.length} URLs, --cluster ${peerUrls.length}`);
  }
  for (const u of clientUrls) parseUrl(u, "--client-urls");
  const ownClient = clientUrls[id - 1] ?? "";
  const port = intFlag(values.port, "--port", Number(parseUrl(ownClient, "--client-urls").port), 0);
  if (port > 65535) throw new UsageError(`--port ${port} is out of range`);
  const logLevel = (values["log-level"] ?? nodeDefaults.logLevel) as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new UsageError(`--log-level: expected one of ${logLevels.join(", ")}, got ${logLevel}`);
  }
  const heartbeatTicks = intFlag(
    values["heartbeat-ticks"],
    "--heartbeat-ticks",
    nodeDefaults.heartbeatTicks,
    1,
  );
  const electionTicks = intFlag(values["election-ticks"], "--election-ticks", nodeDefaults.electionTicks, 2);
  if (electionTicks <= heartbeatTicks) throw new UsageError("--election-ticks must exceed --heartbeat-ticks");
  return {
    id,
    peerUrls,
    clientUrls,
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
    dataDir: values["data-dir"] ?? `./raftstack-${id}`,
    tickMs: intFlag(values["tick-ms"], "--tick-ms", nodeDefaults.tickMs, 1),
    heartbeatTicks,
    electionTicks,
    snapshotEntries: intFlag(
      values["snapshot-entries"],
      "--snapshot-entries",
      nodeDefaults.snapshotEntries,
      1,
    ),
    requestTimeoutMs: intFlag(
      values["request-timeout-ms"],
      "--request-timeout-ms",
      nodeDefaults.requestTimeoutMs,
      1,
    ),
    logLevel,
  };
}
