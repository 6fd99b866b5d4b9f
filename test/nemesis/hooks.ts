// The nodes' test-only hooks files (src/node/test-hooks.ts): deliberate bugs from the start, and a disk
// delay or a clock skew a fault switches on and off while the node runs (the node polls its file).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  TEST_HOOKS_CONSENT,
  TEST_HOOKS_CONSENT_ENV,
  TEST_HOOKS_ENV,
  type TestHooksFile,
} from "../../src/node/test-hooks.js";

export class NodeHooks {
  private readonly files = new Map<number, TestHooksFile>();

  constructor(
    private readonly dir: string,
    ids: readonly number[],
    private readonly mutations: TestHooksFile["mutations"],
  ) {
    mkdirSync(dir, { recursive: true });
    for (const i of ids) this.set(i, {});
  }

  /** The environment that hands node `i` its hooks file (and the consent the node insists on). */
  env(i: number): Record<string, string> {
    return { [TEST_HOOKS_ENV]: this.path(i), [TEST_HOOKS_CONSENT_ENV]: TEST_HOOKS_CONSENT };
  }

  /** Replaces node `i`'s run-time hooks (its mutations stay); written whole, so the node never reads half. */
  set(i: number, hooks: Omit<TestHooksFile, "mutations">): void {
    const file: TestHooksFile = {
      ...hooks,
      ...(this.mutations === undefined ? {} : { mutations: this.mutations }),
    };
    this.files.set(i, file);
    const tmp = `${this.path(i)}.tmp`;
    writeFileSync(tmp, JSON.stringify(file));
    renameSync(tmp, this.path(i));
  }

  /** Every node back to no delay and no skew. */
  clearAll(): void {
    for (const i of this.files.keys()) this.set(i, {});
  }

  private path(i: number): string {
    return join(this.dir, `node-${i}.json`);
  }
}
