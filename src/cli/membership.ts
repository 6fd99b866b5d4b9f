import type { Member, MemberList, RaftstackClient } from "../client/index.js";

/** What `member add` and the console's `add` learn: the new member and, when a node answered, the list. */
export interface Added {
  readonly added: Member;
  /** The member list right after the add; undefined when no node answered it (only the hint needs it). */
  readonly list: MemberList | undefined;
}

/**
 * Adds `peerUrl` as a learner (the leader promotes it once caught up), for `raftstack member add` and the
 * console's `add` alike. Not retried after an unknown outcome (the client's rule for adds).
 */
export async function addMember(
  client: RaftstackClient,
  peerUrl: string,
  options: { readonly clientUrl?: string; readonly id?: number },
): Promise<Added> {
  const added = await client.addMember(peerUrl, options);
  // A node that has not applied the change yet lists the others; the new member is added below.
  return { added, list: await client.members().catch(() => undefined) };
}

/** The `--cluster` an added member starts with: every member's `id=peerURL`, its own included, by id. */
export function joinClusterArg({ added, list }: Added): string {
  const members = new Map((list?.members ?? []).map((m) => [m.id, m.peerUrl]));
  members.set(added.id, added.peerUrl);
  return [...members]
    .sort(([a], [b]) => a - b)
    .map(([id, url]) => `${id}=${url}`)
    .join(",");
}

/**
 * The command that starts an added member, for the operator to run on its host: `--join` with every
 * member's `id=peerURL` (the new one included), its data dir, and its client port when one was given.
 */
export function joinCommand(self: string, result: Added): string {
  const { added } = result;
  const client =
    added.clientUrl === ""
      ? []
      : ["--port", new URL(added.clientUrl).port, "--advertise-client-url", added.clientUrl];
  return [
    self,
    "--id",
    added.id,
    "--cluster",
    joinClusterArg(result),
    "--join",
    ...client,
    "--data-dir",
    `./raftstack-${added.id}`,
  ].join(" ");
}

export type VoterWait =
  | { readonly voter: true; readonly ms: number }
  | { readonly voter: false; readonly why: string };

/**
 * Polls the member list until member `id` is a voter, `deadlineMs` passes, or `gone()` names a reason to
 * stop waiting (its process exited): then says why it is not a voter, with its last known role.
 */
export async function waitVoter(
  client: RaftstackClient,
  id: number,
  opts: { readonly deadlineMs: number; readonly pollMs: number; readonly gone: () => string | undefined },
): Promise<VoterWait> {
  const started = Date.now();
  let last = "no node answered the member list";
  for (;;) {
    try {
      const list = await client.members();
      const role = list.members.find((m) => m.id === id)?.role;
      if (role === "voter") return { voter: true, ms: Date.now() - started };
      last = role === undefined ? "it is not in the member list (removed?)" : `it is still a ${role}`;
    } catch (err) {
      last = `the member list: ${(err as Error).message}`;
    }
    const gone = opts.gone();
    if (gone !== undefined) return { voter: false, why: `${gone}; ${last}` };
    if (Date.now() - started >= opts.deadlineMs)
      return { voter: false, why: `${last} after ${Math.round(opts.deadlineMs / 1000)} s` };
    await new Promise((r) => setTimeout(r, opts.pollMs));
  }
}
