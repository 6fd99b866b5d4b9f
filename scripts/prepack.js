#!/usr/bin/env node
// `npm pack`/`npm publish` build: a clean dist/src with declarations, so the tarball holds no stale
// module and no source map pointing at sources it does not ship. npm puts node_modules/.bin on PATH.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("dist/src", { recursive: true, force: true });
const result = spawnSync("tsc", ["-p", "tsconfig.build.json"], { stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);
// The dashboard's page and uPlot ship beside its modules.
const copied = spawnSync(process.execPath, ["scripts/copy-assets.js"], { stdio: "inherit" });
process.exit(copied.status ?? 1);
