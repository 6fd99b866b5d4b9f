// A 60-second nemesis run with every fault kind against a real 3-node cluster must pass (exit 0).
// Ports 29000-29099 belong to this file (nodes 1-3 and up to 6 that join: ids up to 9). NEMESIS_SEED=S replays another schedule.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import { FAULTS } from "./faults.js";
import type { RunResult } from "./result.js";

const BASE_PORT = 29000;
/** Fresh nodes the membership faults may add; their ports stay in this file's range. */
const JOINS_MAX = 6;
const SEED = Number(process.env.NEMESIS_SEED ?? 20_260_601);
const DURATION_S = 60;
/** The run is 60 s of faults plus start, heal, drain and check; past this it is hung. */
const RUN_TIMEOUT_MS = 150_000;

describe("nemesis: 60 s with every fault kind", { timeout: RUN_TIMEOUT_MS + 10_000 }, () => {
  test(`seed ${SEED} passes`, async () => {
    const out = mkdtempSync(join(tmpdir(), "raftstack-nemesis-run-"));
    const args = [
      resolve("dist/test/nemesis/cli.js"),
      ...["--seed", String(SEED), "--duration", String(DURATION_S), "--faults", "all"],
      ...["--base-port", String(BASE_PORT), "--joins-max", String(JOINS_MAX)],
      ...["--out", out, "--check-seconds", "60"],
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGINT"), RUN_TIMEOUT_MS);
    const code = await new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    clearTimeout(timer);
    const summary = output
      .split("\n")
      .filter((l) => l.startsWith("nemesis") || l.startsWith("  "))
      .slice(-12);
    process.stderr.write(`${summary.join("\n")}\n`);
    assert.equal(code, 0, `nemesis exited ${code}; report in ${out}/report.md\n${output.slice(-4000)}`);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as RunResult;
    const partitions = result.partitions.startsWith("iptables");
    // disk-full needs to mount a tmpfs (root); partitions need iptables and cgroups.
    const tmpfs = !output.includes("nemesis: disk-full skipped");
    const expected = FAULTS.filter(
      (f) => (partitions || !f.needs.includes("netfilter")) && (tmpfs || !f.needs.includes("tmpfs")),
    ).map((f) => f.kind);
    assert.deepEqual(Object.keys(result.faultsByKind).sort(), [...expected].sort(), "every fault kind ran");
    assert.ok(result.ops.total > 1000, `${result.ops.total} operations`);
    rmSync(out, { recursive: true, force: true });
  });
});
