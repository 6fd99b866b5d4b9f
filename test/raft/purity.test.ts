import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

test("src/raft is pure: no clocks, timers, randomness or node imports", () => {
  const dir = join(process.cwd(), "src", "raft");
  const banned =
    /Date\.now|Math\.random|setTimeout|setInterval|setImmediate|performance\.now|from ["']node:|require\(/;
  const offenders: string[] = [];
  for (const name of readdirSync(dir)) {
    const lines = readFileSync(join(dir, name), "utf8").split("\n");
    lines.forEach((line, i) => {
      if (banned.test(line)) offenders.push(`${name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});

test("src/raft keeps one job per file: no file over 500 lines", () => {
  const dir = join(process.cwd(), "src", "raft");
  const long = readdirSync(dir)
    .map((name) => [name, readFileSync(join(dir, name), "utf8").split("\n").length] as const)
    .filter(([, lines]) => lines > 500);
  assert.deepEqual(long, []);
});
