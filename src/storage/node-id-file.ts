// The data dir's owner: `<data-dir>/node-id` holds the id of the node whose Raft state lives there, so a
// node started on another node's data dir (a slip of `--id N --data-dir D`) is refused before it reads,
// and then overwrites, state that is not its own: a vote or log taken over by another id breaks safety.
// One text line, `raftstack node-id <id> crc32c <8 hex digits>\n`, the checksum over the text before it.
import { join } from "node:path";
import type { NodeId } from "../raft/index.js";
import { crc32c } from "./crc32c.js";
import { ATOMIC_TMP_SUFFIX, type Disk, writeFileAtomically } from "./disk.js";
import type { StorageLogger } from "./disk-storage.js";
import { NodeIdMismatchError, StorageError } from "./errors.js";

export const NODE_ID_FILE = "node-id";
const PREFIX = "raftstack node-id";
const LINE_RE = /^raftstack node-id ([1-9][0-9]{0,15}) crc32c ([0-9a-f]{8})\n$/;
/** Longer than any valid line: a bigger file is damage, and is not decoded as text. */
const NODE_ID_FILE_BYTES_MAX = 64;

/** Entries of a data dir that hold Raft state: one of them without a node-id file is a data dir from before it. */
const STATE_ENTRIES = ["wal", "snap"];

export function encodeNodeIdFile(id: NodeId): Uint8Array {
  const body = `${PREFIX} ${id}`;
  return Buffer.from(`${body} crc32c ${crc32cHex(body)}\n`);
}

export type DecodedNodeId =
  | { readonly ok: true; readonly id: NodeId }
  | { readonly ok: false; readonly why: string };

export function decodeNodeIdFile(bytes: Uint8Array): DecodedNodeId {
  if (bytes.length > NODE_ID_FILE_BYTES_MAX)
    return { ok: false, why: `${bytes.length} bytes, more than a node id` };
  const m = LINE_RE.exec(Buffer.from(bytes).toString("latin1"));
  if (m === null) return { ok: false, why: `not one line "${PREFIX} <id> crc32c <checksum>"` };
  const id = Number(m[1]);
  if (crc32cHex(`${PREFIX} ${m[1]}`) !== m[2]) return { ok: false, why: "checksum mismatch" };
  if (!Number.isSafeInteger(id)) return { ok: false, why: `id ${m[1]} not below 2^53` };
  return { ok: true, id };
}

/** Records `id` as the owner of `dataDir`, atomically. */
export function writeNodeIdFile(disk: Disk, dataDir: string, id: NodeId): Promise<void> {
  return writeFileAtomically(disk, join(dataDir, NODE_ID_FILE), [encodeNodeIdFile(id)]);
}

/** The node that claimed `dataDir`, read only; undefined if none has (or its node-id file is damaged). */
export async function readNodeIdFile(disk: Disk, dataDir: string): Promise<NodeId | undefined> {
  if (!(await disk.list(dataDir)).includes(NODE_ID_FILE)) return undefined;
  const decoded = decodeNodeIdFile(
    await disk.readFile(join(dataDir, NODE_ID_FILE)).catch(() => new Uint8Array(0)),
  );
  return decoded.ok ? decoded.id : undefined;
}

/**
 * Checks that the locked `dataDir` belongs to node `id`, or claims it for `id` when no node has: a fresh
 * dir silently, a dir with Raft state from before node-id files (adopted) with an info line. Throws
 * NodeIdMismatchError (`node_id_mismatch`) for another node's dir, StorageError `node_id_corrupt` for a
 * node-id file that cannot be read or does not decode: which node owns the state is then unknown.
 */
export async function claimDataDir(
  disk: Disk,
  dataDir: string,
  id: NodeId,
  logger?: Pick<StorageLogger, "info">,
): Promise<void> {
  const names = await disk.list(dataDir);
  const file = join(dataDir, NODE_ID_FILE);
  // Left by a claim a crash interrupted; the claim is made again below if it never completed.
  if (names.includes(NODE_ID_FILE + ATOMIC_TMP_SUFFIX)) await disk.remove(file + ATOMIC_TMP_SUFFIX);
  if (names.includes(NODE_ID_FILE)) {
    const owner = await readOwner(disk, file, dataDir, id);
    if (owner !== id) throw new NodeIdMismatchError(dataDir, owner, id);
    return;
  }
  await writeNodeIdFile(disk, dataDir, id);
  const legacy = STATE_ENTRIES.filter((name) => names.includes(name));
  if (legacy.length > 0) {
    logger?.info(
      { dataDir, nodeId: id, file },
      `data dir has Raft state (${legacy.join(", ")}) but no node-id file (made before node-id files): ` +
        `claimed for node ${id}`,
    );
  }
}

async function readOwner(disk: Disk, file: string, dataDir: string, id: NodeId): Promise<NodeId> {
  let decoded: DecodedNodeId;
  try {
    decoded = decodeNodeIdFile(await disk.readFile(file));
  } catch (cause) {
    throw corrupt(file, dataDir, id, `cannot be read (${(cause as Error).message})`, cause);
  }
  if (!decoded.ok) throw corrupt(file, dataDir, id, `is damaged (${decoded.why})`);
  return decoded.id;
}

function corrupt(file: string, dataDir: string, id: NodeId, what: string, cause?: unknown): StorageError {
  return new StorageError(
    "node_id_corrupt",
    `${file}, which names the node that owns data dir ${dataDir}, ${what}; if you are sure the data dir is ` +
      `node ${id}'s, remove that file and start node ${id} again: it claims the data dir anew`,
    cause === undefined ? undefined : { cause },
  );
}

function crc32cHex(text: string): string {
  return crc32c(Buffer.from(text)).toString(16).padStart(8, "0");
}
