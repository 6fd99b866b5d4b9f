import { type ConfigState, invariant, type NodeId } from "./types.js";

export type ConfChangeOp = "addLearner" | "promote" | "remove" | "update";

/**
 * One single-server membership change (docs/membership.md). `context` is opaque to the core: the
 * driver carries the member's attributes there (peer URL, client URL). `update` changes no voter or
 * learner set; it only carries new attributes for the driver.
 */
export interface ConfChange {
  readonly op: ConfChangeOp;
  readonly id: NodeId;
  readonly context: Uint8Array;
}

const OPS: readonly ConfChangeOp[] = ["addLearner", "promote", "remove", "update"];
const FORMAT_VERSION = 1;
/** Ids per list and context bytes in one config entry: far above any real cluster, so a corrupt length cannot allocate. */
const idsPerListMax = 65_536;
const contextBytesMax = 1 << 20;

/**
 * The data of a config entry: the change, then the whole configuration it results in. Carrying the
 * result makes every config entry self-contained, so a node that joins with no configuration and
 * learns the log from index 1 (the bootstrap configuration lives in no entry) knows the voters from
 * the first config entry it applies.
 */
export function encodeConfigEntry(cc: ConfChange, result: ConfigState): Uint8Array {
  const removed = result.removed ?? [];
  const lists = [result.voters, result.learners, removed];
  const bytes = 2 + 8 + 4 + cc.context.length + lists.reduce((n, ids) => n + 4 + 8 * ids.length, 0);
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  let p = writeChange(view, out, cc);
  for (const ids of lists) {
    view.setUint32(p, ids.length);
    p += 4;
    for (const id of ids) {
      view.setFloat64(p, id);
      p += 8;
    }
  }
  return out;
}

/** The change alone, without a resulting configuration (what `decodeConfChange` reads back). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(2 + 8 + 4 + cc.context.length);
  writeChange(new DataView(out.buffer), out, cc);
  return out;
}

function writeChange(view: DataView, out: Uint8Array, cc: ConfChange): number {
  invariant(validId(cc.id), `conf change id ${cc.id} is not a positive integer`);
  invariant(cc.context.length <= contextBytesMax, `conf change context over ${contextBytesMax} bytes`);
  view.setUint8(0, FORMAT_VERSION);
  view.setUint8(1, OPS.indexOf(cc.op));
  view.setFloat64(2, cc.id);
  view.setUint32(10, cc.context.length);
  out.set(cc.context, 14);
  return 14 + cc.context.length;
}

/** The change in a config entry's data (or in `encodeConfChange`'s output). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  return decodeChange(data).cc;
}

/** The change and the configuration it results in; undefined `config` for a bare `encodeConfChange`. */
export function decodeConfigEntry(data: Uint8Array): { cc: ConfChange; config: ConfigState | undefined } {
  const { cc, view, end } = decodeChange(data);
  if (end === data.length) return { cc, config: undefined };
  let p = end;
  const lists: NodeId[][] = [];
  for (let k = 0; k < 3; k++) {
    invariant(p + 4 <= data.length, "config entry: truncated id list");
    const n = view.getUint32(p);
    p += 4;
    invariant(n <= idsPerListMax && p + 8 * n <= data.length, "config entry: truncated id list");
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++, p += 8) ids.push(checkedId(view.getFloat64(p)));
    lists.push(ids);
  }
  invariant(p === data.length, "config entry: trailing bytes");
  const [voters, learners, removed] = lists as [NodeId[], NodeId[], NodeId[]];
  return { cc, config: { voters, learners, removed } };
}

function decodeChange(data: Uint8Array): { cc: ConfChange; view: DataView; end: number } {
  invariant(data.length >= 14, "config entry: too short");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  invariant(view.getUint8(0) === FORMAT_VERSION, `config entry: unknown version ${view.getUint8(0)}`);
  const op = OPS[view.getUint8(1)];
  invariant(op !== undefined, `config entry: unknown op ${view.getUint8(1)}`);
  const id = checkedId(view.getFloat64(2));
  const contextBytes = view.getUint32(10);
  invariant(14 + contextBytes <= data.length, "config entry: truncated context");
  const context = data.slice(14, 14 + contextBytes);
  return { cc: { op, id, context }, view, end: 14 + contextBytes };
}

function checkedId(id: number): NodeId {
  invariant(validId(id), `config entry: bad node id ${id}`);
  return id;
}

function validId(id: number): boolean {
  return Number.isSafeInteger(id) && id > 0;
}

/** Every id that is a voter or a learner. */
export function isMember(config: ConfigState, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

/** Whether `config` lists `id` as removed: ids are never reused, so it can never be a member again. */
export function wasRemoved(config: ConfigState, id: NodeId): boolean {
  return config.removed?.includes(id) === true;
}

/**
 * Why `cc` is invalid against `config`, or undefined: removing the last voter, promoting a
 * non-learner, adding a member or a previously removed id (ids are never reused), or changing a
 * non-member.
 */
export function invalidReason(config: ConfigState, cc: ConfChange): string | undefined {
  if (!validId(cc.id)) return `id ${cc.id} is not a positive integer`;
  if (cc.context.length > contextBytesMax) return `context over ${contextBytesMax} bytes`;
  switch (cc.op) {
    case "addLearner":
      if (isMember(config, cc.id)) return `node ${cc.id} is already a member`;
      if (wasRemoved(config, cc.id)) return `node ${cc.id} was removed; ids are never reused`;
      return undefined;
    case "promote":
      return config.learners.includes(cc.id) ? undefined : `node ${cc.id} is not a learner`;
    case "remove":
      if (!isMember(config, cc.id)) return `node ${cc.id} is not a member`;
      if (config.voters.length === 1 && config.voters[0] === cc.id) return "cannot remove the last voter";
      return undefined;
    case "update":
      return isMember(config, cc.id) ? undefined : `node ${cc.id} is not a member`;
  }
}

/** The configuration after `cc` (assumed valid). */
export function applyChange(config: ConfigState, cc: ConfChange): ConfigState {
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== cc.id);
  const removed = config.removed ?? [];
  switch (cc.op) {
    case "addLearner":
      return { voters: config.voters, learners: [...config.learners, cc.id], removed };
    case "promote":
      return { voters: [...config.voters, cc.id], learners: without(config.learners), removed };
    case "remove":
      return {
        voters: without(config.voters),
        learners: without(config.learners),
        removed: [...removed, cc.id],
      };
    case "update":
      return config;
  }
}
