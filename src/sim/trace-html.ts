import { readFileSync } from "node:fs";
import { assetText } from "../dashboard/index.js";
import { describeParams } from "./params.js";
import type { SimResult } from "./run-types.js";
import type { Recording } from "./trace-recorder.js";

/** The viewer's own script and style, copied beside this module at build time. */
function viewerAsset(name: string): string {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url), "utf8");
}

/** JSON that cannot end the script element it sits in. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/**
 * One self-contained page replaying a simulator run: the recording and the result as JSON, the
 * viewer's script and uPlot inlined, so it opens from a file with no network and no server.
 */
export function traceHtml(result: SimResult, recording: Recording): string {
  const data = {
    seed: result.seed,
    ok: result.ok,
    violation: result.violation === undefined ? null : { invariant: result.violation.invariant },
    linearizability: result.linearizability,
    traceHash: result.traceHash,
    params: describeParams(result.params),
    stats: result.stats,
    recording,
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>raftstack sim seed ${result.seed}${result.ok ? "" : " (violation)"}</title>
<link rel="icon" href="data:,">
<style>${assetText("uPlot.min.css")}</style>
<style>${viewerAsset("trace-viewer.css")}</style>
</head>
<body>
<div id="app"></div>
<script id="trace-data" type="application/json">${scriptJson(data)}</script>
<script>${assetText("uPlot.iife.min.js")}</script>
<script>${viewerAsset("trace-viewer.js")}</script>
</body>
</html>
`;
}
