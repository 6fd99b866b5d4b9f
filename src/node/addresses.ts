import type { InitialMember } from "./options.js";

/** Thrown as the caller's UsageError: `where` names the flag or variable the value came from. */
export type UsageProblem = (message: string, cause?: unknown) => Error;

/** A URL with an explicit port, trailing slashes dropped. */
export function parseUrl(s: string, where: string, problem: UsageProblem): URL {
  try {
    const u = new URL(s.trim().replace(/\/+$/, ""));
    if (u.port === "") throw new Error("no port");
    return u;
  } catch (cause) {
    throw problem(`${where}: not a URL with an explicit port: ${s}`, cause);
  }
}

/** `http://host:port`, the form every URL is compared and published in. */
export function originOf(u: URL): string {
  return `${u.protocol}//${u.host}`;
}

/**
 * `--cluster`: peer URLs in id order (ids 1..n, as the seed's raftexample numbers them) or explicit
 * `id=URL` pairs (`1=http://a:7001,3=http://c:7005`), not mixed. Ids are positive and unique.
 */
export function parseClusterList(
  items: readonly string[],
  where: string,
  problem: UsageProblem,
): InitialMember[] {
  const explicit = items.map((item) => /^\s*\d+\s*=/.test(item));
  if (explicit.some((e) => e !== explicit[0])) {
    throw problem(`${where}: use either URLs in id order or id=URL pairs, not both`);
  }
  const members = items.map((item, i): InitialMember => {
    if (!explicit[i]) return { id: i + 1, peerUrl: originOf(parseUrl(item, where, problem)) };
    const eq = item.indexOf("=");
    const id = Number(item.slice(0, eq).trim());
    if (!Number.isSafeInteger(id) || id < 1)
      throw problem(`${where}: bad member id in ${JSON.stringify(item)}`);
    return { id, peerUrl: originOf(parseUrl(item.slice(eq + 1), where, problem)) };
  });
  const ids = new Set(members.map((m) => m.id));
  if (ids.size !== members.length) throw problem(`${where}: a member id appears twice`);
  const urls = new Set(members.map((m) => m.peerUrl));
  if (urls.size !== members.length) throw problem(`${where}: a peer URL appears twice`);
  return members.sort((a, b) => a.id - b.id);
}

/** Hosts that mean "every interface": fine to bind, useless to advertise. */
export function isWildcardHost(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]" || host === "";
}

/** A URL's host as `listen()` wants it: IPv6 without brackets. */
export function bindHost(u: URL): string {
  return u.hostname.replace(/^\[(.*)\]$/, "$1");
}
