#!/usr/bin/env node
// Build step after tsc: copies each layer's browser files (src/<layer>/assets/) into dist beside its
// modules, and uPlot from node_modules into the dashboard's, so a node serves its page with no network.
import { cpSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

const UPLOT = ["uPlot.iife.min.js", "uPlot.min.css"];

for (const layer of readdirSync("src")) {
  const from = join("src", layer, "assets");
  if (existsSync(from)) cpSync(from, join("dist", "src", layer, "assets"), { recursive: true });
}
const into = join("dist", "src", "dashboard", "assets");
mkdirSync(into, { recursive: true });
for (const name of UPLOT) cpSync(join("node_modules", "uplot", "dist", name), join(into, name));
