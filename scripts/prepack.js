#!/usr/bin/env node
// `npm pack`/`npm publish` build: a clean dist/src with declarations, so the tarball holds no stale
// module and no source map pointing at sources it does not ship. npm puts node_modules/.bin on PATH.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("dist/src", { recursive: true, force: true });
const result = spawnSync("tsc", ["-p", "tsconfig.build.json"], { stdio: "inherit" });
process.exit(result.status ?? 1);
