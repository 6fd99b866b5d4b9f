import { UsageError } from "../node/index.js";
import type { CredentialFlags } from "./credentials.js";

/** The seed's five local nodes: node i serves clients on port i*10000 + 2380 and peers on i*10000 + 2379. */
export const SEED_NODES_MAX = 5;
export const SEED_BASE_PORT = 12380;
export const SEED_PORT_STEP = 10_000;

export const DEFAULT_ENDPOINTS: readonly string[] = seedClientPorts(
  SEED_NODES_MAX,
  SEED_BASE_PORT,
  SEED_PORT_STEP,
).map((p) => `http://127.0.0.1:${p}`);

/** `--endpoints`' default: the seed's nodes, bare, so TLS flags make them https:// as any bare entry. */
export const DEFAULT_ENDPOINT_ARGS: readonly EndpointArg[] = DEFAULT_ENDPOINTS.map((origin) => ({
  origin,
  bare: true,
}));

/** Client ports of a local cluster: node i (1-based) gets basePort + (i-1)*step; its peer port is one less. */
export function seedClientPorts(nodes: number, basePort: number, step: number): number[] {
  return Array.from({ length: nodes }, (_, i) => basePort + i * step);
}

/** One `--endpoints` entry: a URL as given, or a bare host:port whose scheme the TLS flags decide. */
export interface EndpointArg {
  /** The origin; http:// for a bare entry until `endpointsOf` decides. */
  readonly origin: string;
  readonly bare: boolean;
}

/**
 * Parses `--endpoints a,b,...`. A bare `host:port` or port gets a scheme later (`endpointsOf`) and a
 * bare port 127.0.0.1, so `--endpoints 12380,22380` works; anything else must be an http or https URL
 * with a port (else UsageError).
 */
export function parseEndpoints(list: string): EndpointArg[] {
  const out: EndpointArg[] = [];
  for (const raw of list.split(",")) {
    const s = raw.trim();
    if (s === "") continue;
    const withHost = /^\d+$/.test(s) ? `127.0.0.1:${s}` : s;
    const bare = !/^[a-z]+:\/\//i.test(withHost);
    let url: URL;
    try {
      url = new URL(bare ? `http://${withHost}` : withHost);
    } catch (cause) {
      throw new UsageError("invalid_value", `--endpoints: not a URL: ${s}`, { cause });
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.port === "")
      throw new UsageError("invalid_value", `--endpoints: expected http(s)://host:port, got ${s}`);
    out.push({ origin: url.origin, bare });
  }
  if (out.length === 0) throw new UsageError("missing_value", "--endpoints: empty list");
  return out;
}

/**
 * The URLs to ask: a bare entry is https:// when a TLS file is given (--cacert, --cert, --key), since
 * those only make sense for HTTPS and plain HTTP to an HTTPS listener fails as a cut connection; a URL
 * keeps the scheme it was given.
 */
export function endpointsOf(
  flags: CredentialFlags & { readonly endpoints: readonly EndpointArg[] },
): string[] {
  const tls = flags.cacert !== undefined || flags.cert !== undefined || flags.key !== undefined;
  return flags.endpoints.map((e) => (e.bare && tls ? e.origin.replace(/^http:/, "https:") : e.origin));
}
