// NodeDisk's directory lock. Node has no flock, so the lock is a file naming its holder's pid, and a
// lock whose holder is gone is stale. A file (rather than a bound socket) works on every file system,
// and an operator can read who holds the directory and why.
import { link, readdir, readFile, realpath, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DirLockHolder, DirLockResult } from "./disk.js";

/**
 * Lock files are numbered LOCK.1, LOCK.2, ...; the highest number is the lock. A taker links a complete
 * file to the next number, and link never replaces a file, so of two processes taking over the same
 * stale lock exactly one succeeds, and nobody deletes a lock another process may have just taken.
 */
const LOCK_RE = /^LOCK\.([0-9]{1,15})$/;
/** Retries while other processes change the lock files under us; each retry follows someone's progress. */
const LOCK_ATTEMPTS_MAX = 16;

/** What a lock file holds (one JSON line). `startTicks` tells a live holder from a later process with its pid. */
interface LockRecord {
  readonly pid: number;
  readonly startTicks: number | undefined;
  readonly since: string;
  readonly reason: string;
}

/** Directories (real paths) locked by this process: a second lock here is refused, not taken over. */
const heldHere = new Map<string, DirLockHolder>();

export async function lockDirByPidFile(dir: string, reason: string): Promise<DirLockResult> {
  const path = await realpath(dir);
  const own = heldHere.get(path);
  if (own !== undefined) return { ok: false, holder: own };
  // Registered before any await, so a concurrent call in this process sees the directory held.
  heldHere.set(path, { pid: process.pid, reason });
  try {
    const result = await take(path, reason);
    if (!result.ok) heldHere.delete(path);
    return result;
  } catch (err) {
    heldHere.delete(path);
    throw err;
  }
}

async function take(dir: string, reason: string): Promise<DirLockResult> {
  const started = await procStat(process.pid);
  const record: LockRecord = {
    pid: process.pid,
    startTicks: started?.startTicks,
    since: new Date().toISOString(),
    reason,
  };
  const tmp = join(dir, `LOCK.tmp-${process.pid}`);
  for (let attempt = 0; attempt < LOCK_ATTEMPTS_MAX; attempt++) {
    const top = highestLock(await readdir(dir));
    if (top > 0) {
      const holder = await readLock(join(dir, lockName(top)));
      if (holder === "gone") continue; // cleaned up by a new holder meanwhile: look again
      if (holder !== undefined && (await isAlive(holder))) {
        return { ok: false, holder: { pid: holder.pid, reason: holder.reason } };
      }
    }
    const mine = join(dir, lockName(top + 1));
    await writeFile(tmp, `${JSON.stringify(record)}\n`);
    try {
      await link(tmp, mine);
    } catch (err) {
      if (errorCode(err) === "EEXIST") continue; // another process took this number first
      throw err;
    } finally {
      await unlinkIfPresent(tmp);
    }
    // A slow taker that saw an older number may link it after a new holder cleaned it up; it then sees
    // the higher lock here and backs off. The holder of the highest number never does.
    const names = await readdir(dir);
    if (highestLock(names) !== top + 1) {
      await unlinkIfPresent(mine);
      continue;
    }
    for (const name of names) {
      const n = lockNumber(name);
      if (n !== undefined && n <= top) await unlinkIfPresent(join(dir, name));
    }
    return { ok: true, release: releaser(dir, mine) };
  }
  throw new Error(`could not lock ${dir}: its lock files kept changing (${LOCK_ATTEMPTS_MAX} attempts)`);
}

function releaser(dir: string, file: string): () => Promise<void> {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const holder = await readLock(file);
    if (holder !== "gone" && holder?.pid === process.pid) await unlinkIfPresent(file);
    heldHere.delete(dir);
  };
}

async function isAlive(holder: LockRecord): Promise<boolean> {
  // Our pid, yet not held in this process: left by an earlier process that had the same pid, as the
  // node does after a container restart.
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if (errorCode(err) === "ESRCH") return false;
    if (errorCode(err) !== "EPERM") throw err; // EPERM: it exists, under another user
  }
  const stat = await procStat(holder.pid);
  if (stat === undefined) return true; // no /proc: the pid is all there is to check
  if (stat.state === "Z" || stat.state === "X") return false; // exited, not yet reaped
  return holder.startTicks === undefined || stat.startTicks === holder.startTicks;
}

/** State and start time (clock ticks after boot) from Linux's /proc/<pid>/stat; undefined elsewhere. */
async function procStat(pid: number): Promise<{ state: string; startTicks: number } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const startTicks = Number(fields[19]);
  const state = fields[0];
  return state === undefined || !Number.isSafeInteger(startTicks) ? undefined : { state, startTicks };
}

/** The record, "gone" if the file no longer exists, or undefined if it does not parse (stale). */
async function readLock(path: string): Promise<LockRecord | "gone" | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (errorCode(err) === "ENOENT") return "gone";
    throw err;
  }
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    const valid =
      Number.isSafeInteger(r.pid) &&
      r.pid! > 0 &&
      typeof r.reason === "string" &&
      typeof r.since === "string" &&
      (r.startTicks === undefined || Number.isSafeInteger(r.startTicks));
    return valid ? (r as LockRecord) : undefined;
  } catch {
    return undefined; // e.g. emptied by a power cut: its holder died with the machine
  }
}

function lockName(n: number): string {
  return `LOCK.${n}`;
}

function lockNumber(name: string): number | undefined {
  const m = LOCK_RE.exec(name);
  return m === null ? undefined : Number(m[1]);
}

function highestLock(names: readonly string[]): number {
  let top = 0;
  for (const name of names) top = Math.max(top, lockNumber(name) ?? 0);
  return top;
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errorCode(err) !== "ENOENT") throw err;
  }
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}
