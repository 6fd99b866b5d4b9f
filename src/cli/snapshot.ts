// `raftstack snapshot save` and `restore`: backups streamed from the leader, and new clusters seeded from them.
import { createReadStream } from "node:fs";
import { type FileHandle, open, rename, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import { type ApiErrorCode, isApiErrorCode } from "../api/index.js";
import { RaftstackClient, RaftstackError } from "../client/index.js";
import { UsageError } from "../node/index.js";
import { BackupError, BackupVerifier, decodeBackup, NodeDisk, restoreBackup } from "../storage/index.js";
import type { ClientFlags } from "./client-commands.js";
import { credentialsOf } from "./credentials.js";
import { endpointsOf } from "./endpoints.js";
import { terminalProgress } from "./progress.js";

/** A snapshot may take a while to encode and download: the whole save gets this long by default. */
export const SAVE_DEADLINE_MS_DEFAULT = 120_000;
/** Pause before asking again when the leader moved or is not known yet. */
const LEADER_RETRY_MS = 200;

export interface SavedBackup {
  readonly file: string;
  readonly bytes: number;
  readonly index: number;
  readonly sha256: string;
  /** The node that served it (the leader then). */
  readonly node: number;
}

/** Where progress goes: a terminal gets one line rewritten, anything else a line now and then. */
export type ProgressOut = NodeJS.WritableStream & { readonly isTTY?: boolean };

/** The leader's client URL as some node sees it, or undefined while no leader is known. */
async function leaderUrl(client: RaftstackClient): Promise<string | undefined> {
  const info = await client.cluster();
  return info.members.find((m) => m.id === info.leader)?.clientUrl;
}

/**
 * Writing the backup file failed after it was opened (disk full, I/O error): the save ends at once,
 * since asking another node cannot help.
 */
export class SnapshotFileError extends Error {
  override readonly name = "SnapshotFileError";
  readonly code = "file_write_failed";
}

/**
 * Opens `part` for the download before any node is asked, so a missing folder or a read-only one is
 * a usage error naming the path (exit 2), not a retried "network" failure.
 */
async function openPart(file: string, part: string): Promise<FileHandle> {
  try {
    return await open(part, "w");
  } catch (cause) {
    throw new UsageError(
      "invalid_value",
      `snapshot save: cannot write ${file}: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/**
 * Streams a backup from the leader into `file` (through `file.part`, renamed once complete, checked
 * and durable). Retries while no leader is known or leadership moves, until the deadline.
 */
export async function saveBackup(
  file: string,
  flags: ClientFlags,
  progressOut: ProgressOut,
): Promise<SavedBackup> {
  const deadline = performance.now() + flags.deadlineMs;
  const part = `${file}.part`;
  const fh = await openPart(file, part);
  // The same token and TLS files for finding the leader and for the download (a secured cluster's
  // /v1/snapshot needs admin over HTTPS).
  const credentials = credentialsOf(flags);
  const client = new RaftstackClient({
    ...credentials,
    endpoints: endpointsOf(flags),
    timeoutMs: flags.timeoutMs,
    deadlineMs: flags.deadlineMs,
  });
  const access: Access = {
    headers: credentials.token === undefined ? {} : { authorization: `Bearer ${credentials.token}` },
    dispatcher: new Agent(credentials.tls === undefined ? {} : { connect: { ...credentials.tls } }),
  };
  let saved = false;
  let last = "no leader known";
  try {
    while (performance.now() < deadline) {
      const url = await leaderUrl(client);
      if (url !== undefined) {
        const remainingMs = Math.max(1, Math.ceil(deadline - performance.now()));
        const got = await download(`${url}/v1/snapshot`, access, fh, part, remainingMs, progressOut).catch(
          (err: unknown): Download => {
            // A definite answer, a damaged download or a failed write ends the save; a lost connection
            // (the leader stopped meanwhile) is tried again at whichever node leads next.
            if (
              err instanceof RaftstackError ||
              err instanceof BackupError ||
              err instanceof SnapshotFileError
            )
              throw err;
            return { kind: "retry", why: `${url}: ${(err as Error).message}` };
          },
        );
        if (got.kind === "saved") {
          await fileStep(file, () => fh.close());
          await fileStep(file, () => rename(part, file));
          saved = true;
          return { file, ...got.backup };
        }
        last = got.why;
      }
      await sleep(LEADER_RETRY_MS);
    }
  } finally {
    await client.close();
    await access.dispatcher.close();
    if (!saved) {
      await fh.close().catch(() => {});
      await rm(part, { force: true });
    }
  }
  throw new RaftstackError("unavailable", 0, `snapshot save: ${last}; gave up after ${flags.deadlineMs} ms`);
}

/** One step of writing the backup file, its failure a SnapshotFileError naming the file. */
async function fileStep<T>(file: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (cause) {
    throw new SnapshotFileError(`cannot write ${file}: ${(cause as Error).message}`, { cause });
  }
}

type Download =
  | { readonly kind: "saved"; readonly backup: Omit<SavedBackup, "file"> }
  | { readonly kind: "retry"; readonly why: string };

/** The documented code of an error answer ({"error":{"code",...}}), if it has one. */
function errorCodeOf(text: string): ApiErrorCode | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" && isApiErrorCode(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** How the download reaches the leader: the Bearer token and a dispatcher with the TLS files. */
interface Access {
  readonly headers: Readonly<Record<string, string>>;
  readonly dispatcher: Agent;
}

/** One attempt: the answer's body written into `fh` from its start (an earlier attempt's bytes are cut). */
async function download(
  url: string,
  access: Access,
  fh: FileHandle,
  file: string,
  timeoutMs: number,
  progressOut: ProgressOut,
): Promise<Download> {
  const res = await request(url, {
    method: "GET",
    headers: access.headers,
    dispatcher: access.dispatcher,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.statusCode === 503) {
    await res.body.dump();
    return { kind: "retry", why: `${url} answered 503 (leadership moving)` };
  }
  if (res.statusCode !== 200) {
    const text = await res.body.text();
    throw new RaftstackError(
      errorCodeOf(text) ?? `http_${res.statusCode}`,
      res.statusCode,
      `${url}: ${text.trim()}`,
    );
  }
  const total = Number(res.headers["content-length"] ?? 0);
  const progress = terminalProgress({ out: progressOut, label: "snapshot save", total, unit: "bytes" });
  const verifier = new BackupVerifier();
  let bytes = 0;
  try {
    await fileStep(file, () => fh.truncate(0));
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      verifier.push(buf);
      await fileStep(file, () => fh.write(buf, 0, buf.length, bytes));
      bytes += buf.length;
      progress.update(bytes);
    }
    const sha256 = verifier.finish();
    await fileStep(file, () => fh.sync());
    const index = Number(res.headers["x-raft-snapshot-index"] ?? 0);
    const node = Number(res.headers["x-raft-node"] ?? 0);
    return { kind: "saved", backup: { bytes, index, sha256, node } };
  } finally {
    progress.finish();
  }
}

export interface RestoreFlags {
  readonly dataDir: string;
  readonly id: number;
  /** Every member's peer URL in id order, as the restored nodes will be started with. */
  readonly cluster: string;
}

export interface RestoredBackup {
  readonly index: number;
  readonly term: number;
  readonly voters: readonly number[];
}

/** The voter ids a `--cluster` list names (1..n), checking `--id` is one of them. */
export function restoreVoters(cluster: string, id: number): number[] {
  const urls = cluster.split(",").filter((s) => s.trim() !== "");
  if (urls.length === 0) throw new UsageError("missing_value", "snapshot restore: --cluster is empty");
  for (const u of urls) {
    if (!URL.canParse(u.trim()))
      throw new UsageError("invalid_value", `snapshot restore: --cluster: not a URL: ${u}`);
  }
  if (id > urls.length) {
    throw new UsageError(
      "invalid_value",
      `snapshot restore: --id ${id} is not in --cluster (${urls.length} members)`,
    );
  }
  return urls.map((_, i) => i + 1);
}

/** Reads and checks `file`, then seeds the empty `flags.dataDir` from it as a member of a new cluster. */
export async function restoreFromFile(
  file: string,
  flags: RestoreFlags,
  progressOut: ProgressOut,
): Promise<RestoredBackup> {
  const voters = restoreVoters(flags.cluster, flags.id);
  let total: number;
  try {
    total = (await stat(file)).size;
  } catch (cause) {
    throw new UsageError(
      "invalid_value",
      `snapshot restore: cannot read ${file}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const progress = terminalProgress({ out: progressOut, label: "snapshot restore", total, unit: "bytes" });
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file)) {
      chunks.push(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      progress.update(bytes);
    }
  } finally {
    progress.finish();
  }
  const backup = decodeBackup(Buffer.concat(chunks, bytes));
  const seeded = await restoreBackup(new NodeDisk(), flags.dataDir, backup, voters, flags.id);
  return { index: seeded.meta.index, term: seeded.meta.term, voters };
}
