import { UsageError } from "../node/index.js";

/** The seed's five local nodes: node i serves clients on port i*10000 + 2380 and peers on i*10000 + 2379. */
export const SEED_NODES_MAX = 5;
export const SEED_BASE_PORT = 12380;
export const SEED_PORT_STEP = 10_000;

export const DEFAULT_ENDPOINTS: readonly string[] = seedClientPorts(
  SEED_NODES_MAX,
  SEED_BASE_PORT,
  SEED_PORT_STEP,
).map((p) => `http://127.0.0.1:${p}`);

/** Client ports of a local cluster: node i (1-based) gets basePort + (i-1)*step; its peer port is one less. */
export function seedClientPorts(nodes: number, basePort: number, step: number): number[] {
  return Array.from({ length: nodes }, (_, i) => basePort + i * step);
}

/**
 * Parses `--endpoints a,b,...`. A bare `host:port` or port gets "http://" (and 127.0.0.1), so
 * `--endpoints 12380,22380` works; anything else must be an http or https URL with a port (else UsageError).
 */
export function parseEndpoints(list: string): string[] {
  const out: string[] = [];
  for (const raw of list.split(",")) {
    const s = raw.trim();
    if (s === "") continue;
    const withHost = /^\d+$/.test(s) ? `127.0.0.1:${s}` : s;
    const withScheme = /^[a-z]+:\/\//i.test(withHost) ? withHost : `http://${withHost}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch (cause) {
      throw new UsageError("invalid_value", `--endpoints: not a URL: ${s}`, { cause });
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.port === "")
      throw new UsageError("invalid_value", `--endpoints: expected http(s)://host:port, got ${s}`);
    out.push(url.origin);
  }
  if (out.length === 0) throw new UsageError("missing_value", "--endpoints: empty list");
  return out;
}
