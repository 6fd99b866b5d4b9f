import { DecodeError, Reader, Writer } from "../codec/index.js";
import type { NodeId } from "../raft/index.js";
import type { ReplicatedMembers } from "./app-snapshot.js";

/** A member's addresses as the others reach it; `clientUrl` is "" until the member published it. */
export interface MemberAttrs {
  readonly peerUrl: string;
  readonly clientUrl: string;
}

export interface Member extends MemberAttrs {
  readonly id: NodeId;
}

/** What a config entry's `context` carries (docs/membership.md): the member's attributes. */
export type MemberChangeOp = "addLearner" | "promote" | "remove" | "update";

const tableVersion = 1;
const contextVersion = 1;
/** A URL in the table or a change's context; far above any real one, so a corrupt length cannot allocate. */
export const memberUrlBytesMax = 2048;
const membersMax = 65_536;

/**
 * The replicated member table (docs/membership.md): id → {peerUrl, clientUrl} and the next id a
 * new member gets (ids are never reused). Part of the node's replicated state next to the stack
 * machine: changed only by applied config entries, carried in the node's snapshots (the driver
 * calls `encode` and `restore`).
 */
export class MemberTable implements ReplicatedMembers {
  private constructor(
    private byId: Map<NodeId, MemberAttrs>,
    private next: NodeId,
  ) {}

  /** A new cluster's table, from `--cluster` (client URLs from `--client-urls`, else unknown yet). */
  static initial(members: readonly { id: NodeId; peerUrl: string; clientUrl?: string }[]): MemberTable {
    const byId = new Map<NodeId, MemberAttrs>();
    for (const m of members) byId.set(m.id, { peerUrl: m.peerUrl, clientUrl: m.clientUrl ?? "" });
    return new MemberTable(byId, Math.max(0, ...byId.keys()) + 1);
  }

  get nextMemberId(): NodeId {
    return this.next;
  }

  get(id: NodeId): MemberAttrs | undefined {
    return this.byId.get(id);
  }

  /** The member whose peer URL is `url` (compared as origins: scheme, host, port), if any. */
  memberWithPeerUrl(url: string): NodeId | undefined {
    const origin = peerOrigin(url);
    for (const [id, a] of this.byId) if (a.peerUrl !== "" && peerOrigin(a.peerUrl) === origin) return id;
    return undefined;
  }

  /** Every member, by id. */
  list(): Member[] {
    return [...this.byId].map(([id, a]) => ({ id, ...a })).sort((a, b) => a.id - b.id);
  }

  /**
   * Applies a committed change: `addLearner` and `update` set the attributes the context carries
   * (a blank field keeps the known value), `remove` forgets the member; `promote` changes no attribute.
   */
  apply(op: MemberChangeOp, id: NodeId, context: Uint8Array): void {
    if (op === "remove") {
      this.byId.delete(id);
    } else if (op === "addLearner" || op === "update") {
      const attrs = decodeMemberContext(context);
      const known = this.byId.get(id);
      this.byId.set(id, {
        peerUrl: attrs.peerUrl || (known?.peerUrl ?? ""),
        clientUrl: attrs.clientUrl || (known?.clientUrl ?? ""),
      });
    }
    this.next = Math.max(this.next, id + 1);
  }

  /** Layout: version u8, nextMemberId, count, then (id, peerUrl, clientUrl) by id. */
  encode(): Uint8Array {
    const members = this.list();
    const w = new Writer(16 + members.length * 64);
    w.u8(tableVersion);
    w.varint(this.next);
    w.varint(members.length);
    for (const m of members) {
      w.varint(m.id);
      w.str(m.peerUrl);
      w.str(m.clientUrl);
    }
    return w.finish();
  }

  /** Replaces the table with a snapshot's; a pre-membership snapshot (undefined) keeps this one. */
  restore(data: Uint8Array | undefined): void {
    if (data === undefined) return;
    const r = new Reader(data);
    const table = MemberTable.decode(r);
    if (!r.done) throw new DecodeError("member table: trailing bytes");
    this.byId = table.byId;
    this.next = table.next;
  }

  static decode(r: Reader): MemberTable {
    const version = r.u8();
    if (version !== tableVersion) throw new DecodeError(`member table: unknown version ${version}`);
    const next = r.varint();
    const count = r.varint();
    if (count > membersMax) throw new DecodeError(`member table: ${count} members`);
    const byId = new Map<NodeId, MemberAttrs>();
    for (let i = 0; i < count; i++) {
      const id = r.varint();
      const peerUrl = r.str(memberUrlBytesMax);
      const clientUrl = r.str(memberUrlBytesMax);
      if (id < 1 || id >= next || byId.has(id)) throw new DecodeError(`member table: bad id ${id}`);
      byId.set(id, { peerUrl, clientUrl });
    }
    return new MemberTable(byId, next);
  }
}

/**
 * A peer URL as members are told apart: its origin, so a trailing slash, the letter case of the host and an
 * explicit default port make no other member. As given if it is not an http(s) URL.
 */
function peerOrigin(url: string): string {
  try {
    const { origin } = new URL(url.trim());
    return origin === "null" ? url : origin;
  } catch {
    return url;
  }
}

/** A config entry's context: the member's attributes ("" = not carried). */
export function encodeMemberContext(attrs: Partial<MemberAttrs>): Uint8Array {
  const w = new Writer(8 + (attrs.peerUrl?.length ?? 0) * 3 + (attrs.clientUrl?.length ?? 0) * 3);
  w.u8(contextVersion);
  w.str(attrs.peerUrl ?? "");
  w.str(attrs.clientUrl ?? "");
  return w.finish();
}

/** The attributes in a context; an empty context (a change made without any) carries none. */
export function decodeMemberContext(context: Uint8Array): MemberAttrs {
  if (context.length === 0) return { peerUrl: "", clientUrl: "" };
  const r = new Reader(context);
  const version = r.u8();
  if (version !== contextVersion) throw new DecodeError(`member context: unknown version ${version}`);
  return { peerUrl: r.str(memberUrlBytesMax), clientUrl: r.str(memberUrlBytesMax) };
}
