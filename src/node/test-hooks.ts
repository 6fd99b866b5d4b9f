// Test-only hooks for fault injection on real node processes (test/nemesis, docs/nemesis.md): deliberate
// bugs (the simulator's mutation switches), a slow or stalled disk, and a skewed clock. Off unless both
// environment variables below are set; nothing here runs in a normal node.
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { performance } from "node:perf_hooks";
import type { RaftMutations } from "../raft/index.js";
import type { StackMachineOptions } from "../stack/index.js";
import type { Disk, DiskFile } from "../storage/index.js";
import type { DriverMutations } from "./driver-config.js";
import { UsageError } from "./options.js";
import type { Clock } from "./ports.js";

/** The hooks file's path; the nemesis rewrites the file to change the disk delay and the clock at run time. */
export const TEST_HOOKS_ENV = "RAFTSTACK_TEST_HOOKS";
/** Must be exactly TEST_HOOKS_CONSENT as well, or a node given TEST_HOOKS_ENV refuses to start. */
export const TEST_HOOKS_CONSENT_ENV = "RAFTSTACK_TEST_HOOKS_UNSAFE";
export const TEST_HOOKS_CONSENT = "i-accept-data-loss";

/** Every deliberate bug a real node can be started with; the simulator's --mutation takes these and its membership ones. */
export const nodeMutationNames = [
  "grantTwoVotesPerTerm",
  "commitOldTermByCounting",
  "skipLogMatchingCheck",
  "applyRetriesTwice",
  "ackBeforeFsync",
  "readWithoutReadIndex",
] as const;
export type NodeMutation = (typeof nodeMutationNames)[number];

/** The hooks file (JSON). Mutations are read once at start; the rest whenever the file changes. */
export interface TestHooksFile {
  readonly mutations?: readonly NodeMutation[];
  /** Every fsync waits this long before the writes it covers reach the OS: a node killed meanwhile loses them. */
  readonly diskDelayMs?: number;
  /** Added to the wall clock (the leader's timestamp in each command). */
  readonly clockOffsetMs?: number;
  /** Speed of the node's monotonic clock and timers relative to real time (2 = ticks twice as fast). */
  readonly clockRate?: number;
}

/** How often the hooks file is polled for changes. */
const watchIntervalMs = 50;
/** A delayed write re-reads the delay this often, so healing a stall releases it promptly. */
const delayPollMs = 10;
const clockRateMin = 0.1;
const clockRateMax = 10;

export class TestHooks {
  readonly mutations: ReadonlySet<NodeMutation>;
  private current: TestHooksFile;
  /** The monotonic clock's anchor: virtual = anchorVirtual + (real - anchorReal) · rate. */
  private anchorReal = performance.now();
  private anchorVirtual = this.anchorReal;
  private rate = 1;

  private constructor(
    private readonly path: string,
    first: TestHooksFile,
  ) {
    this.current = first;
    this.mutations = new Set(first.mutations ?? []);
    this.setRate(first.clockRate ?? 1);
  }

  /** The hooks asked for by `env`, undefined when none; throws UsageError without the consent variable. */
  static fromEnv(env: NodeJS.ProcessEnv): TestHooks | undefined {
    const path = env[TEST_HOOKS_ENV];
    if (path === undefined || path === "") return undefined;
    if (env[TEST_HOOKS_CONSENT_ENV] !== TEST_HOOKS_CONSENT) {
      throw new UsageError(
        "invalid_value",
        `${TEST_HOOKS_ENV} breaks the node on purpose and is for tests only; ` +
          `refusing to start without ${TEST_HOOKS_CONSENT_ENV}=${TEST_HOOKS_CONSENT}`,
      );
    }
    const hooks = new TestHooks(path, readHooksFile(path));
    watchFile(path, { interval: watchIntervalMs, persistent: false }, () => hooks.reload());
    return hooks;
  }

  has(m: NodeMutation): boolean {
    return this.mutations.has(m);
  }

  raftMutations(): RaftMutations {
    const out: { -readonly [K in keyof RaftMutations]: boolean } = {};
    for (const m of ["grantTwoVotesPerTerm", "commitOldTermByCounting", "skipLogMatchingCheck"] as const)
      if (this.has(m)) out[m] = true;
    return out;
  }

  driverMutations(): DriverMutations {
    return this.has("ackBeforeFsync") ? { ackBeforeFsync: true } : {};
  }

  machineOptions(): StackMachineOptions {
    return this.has("applyRetriesTwice") ? { mutations: { applyRetriesTwice: true } } : {};
  }

  /** `inner`'s clock with this file's offset and rate. */
  clock(inner: Clock): Clock {
    return {
      now: () => this.virtualNow(),
      wallMs: () => inner.wallMs() + (this.current.clockOffsetMs ?? 0),
      defer: (run) => inner.defer(run),
      every: (ms, run) => {
        // Rescheduled one period at a time so a changed rate applies from the next period on.
        let timer: NodeJS.Timeout | undefined;
        const next = () => {
          timer = setTimeout(() => {
            next();
            run();
          }, ms / this.rate);
        };
        next();
        return () => clearTimeout(timer);
      },
    };
  }

  /**
   * `inner` as a killed node would find it after a power cut: every file write stays in this process
   * until the file's next sync (or truncate, or close), so a SIGKILL loses whatever was not yet synced.
   * Without this the OS's page cache keeps such writes across a process kill, and a node that answers
   * before its fsync loses nothing unless its disk stalled before the write call itself (the
   * nemesis caught ackBeforeFsync with 1 of 3 seeds so). Each sync first waits the current diskDelayMs.
   */
  disk(inner: Disk): Disk {
    const delay = (): Promise<void> => this.waitDiskDelay();
    return {
      list: (dir) => inner.list(dir),
      readFile: (path) => inner.readFile(path),
      openWrite: async (path): Promise<DiskFile> => writesHeldUntilSync(await inner.openWrite(path), delay),
      rename: (from, to) => inner.rename(from, to),
      remove: (path) => inner.remove(path),
      syncDir: (dir) => inner.syncDir(dir),
      mkdirp: (dir) => inner.mkdirp(dir),
      lockDir: (dir, reason) => inner.lockDir(dir, reason),
    };
  }

  close(): void {
    unwatchFile(this.path);
  }

  private async waitDiskDelay(): Promise<void> {
    const start = performance.now();
    for (;;) {
      const left = (this.current.diskDelayMs ?? 0) - (performance.now() - start);
      if (left <= 0) return;
      await new Promise((r) => setTimeout(r, Math.min(left, delayPollMs)));
    }
  }

  private virtualNow(): number {
    return this.anchorVirtual + (performance.now() - this.anchorReal) * this.rate;
  }

  private setRate(rate: number): void {
    if (!(rate >= clockRateMin && rate <= clockRateMax))
      throw new UsageError("invalid_value", `clockRate ${rate} outside [${clockRateMin}, ${clockRateMax}]`);
    this.anchorVirtual = this.virtualNow();
    this.anchorReal = performance.now();
    this.rate = rate;
  }

  private reload(): void {
    try {
      const next = readHooksFile(this.path);
      this.setRate(next.clockRate ?? 1);
      this.current = next;
    } catch {
      // Caught mid-rewrite or a bad value: keep the last good hooks; the next change is read again.
    }
  }
}

/**
 * `file` whose writes are kept here (copied: the caller may reuse its buffer) and reach the OS in order
 * just before the next sync, truncate or close. What is held is bounded by what storage writes between
 * two syncs: one WAL batch, or one snapshot file.
 */
function writesHeldUntilSync(file: DiskFile, beforeSync: () => Promise<void>): DiskFile {
  let held: { readonly data: Uint8Array; readonly position: number }[] = [];
  const release = async (): Promise<void> => {
    const writes = held;
    held = [];
    for (const w of writes) await file.write(w.data, w.position);
  };
  return {
    write: async (data, position) => {
      held.push({ data: data.slice(), position });
    },
    sync: async () => {
      await beforeSync();
      await release();
      await file.sync();
    },
    truncate: async (size) => {
      await release();
      await file.truncate(size);
    },
    close: async () => {
      await release();
      await file.close();
    },
  };
}

function readHooksFile(path: string): TestHooksFile {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as TestHooksFile;
  for (const m of parsed.mutations ?? [])
    if (!(nodeMutationNames as readonly string[]).includes(m))
      throw new UsageError("invalid_value", `unknown mutation ${JSON.stringify(m)} in ${path}`);
  return parsed;
}
