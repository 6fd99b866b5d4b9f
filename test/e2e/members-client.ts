// What the membership e2e tests (member-cluster, hosts) do as a client: keyed requests, pushes retried
// with their key until acknowledged, and waiting for a member list.
import { sleep } from "./harness.js";

/** `raftstack member list --json`. */
export interface Listed {
  leader: number;
  members: { id: number; role: string; peerUrl: string; clientUrl: string }[];
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  /** The Location header of a redirect (requests do not follow redirects). */
  readonly location: string | null;
}

/** One request to `baseUrl + path`, with `key` as its Idempotency-Key; redirects are returned, not followed. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  body?: string,
  key?: string,
): Promise<Answer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    redirect: "manual",
    headers: key === undefined ? {} : { "idempotency-key": key },
    signal: AbortSignal.timeout(3000),
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, body: await res.text(), location: res.headers.get("location") };
}

/** Pushes `item` onto stack 1 through `baseUrl`, keyed by the item, retried until acknowledged (20 s). */
export async function pushUntilAcked(baseUrl: string, item: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const a = await request(baseUrl, "POST", "/sPush", `1,${item}`, item);
      if (a.status === 200) return;
      last = `${a.status} ${a.body}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`push ${item} through ${baseUrl}: ${last}`);
}

/** Waits (30 s) until `list()` shows exactly `voters`, a leader among them, and every member's client URL. */
export async function waitVoters(list: () => Promise<Listed>, voters: readonly number[]): Promise<Listed> {
  const deadline = Date.now() + 30_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const l = await list();
      last = JSON.stringify(l);
      const seen = l.members.filter((m) => m.role === "voter").map((m) => m.id);
      const published = l.members.every((m) => m.clientUrl !== "");
      if (JSON.stringify(seen) === JSON.stringify(voters) && voters.includes(l.leader) && published) return l;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`voters never became ${voters.join(",")}: ${last}`);
}
