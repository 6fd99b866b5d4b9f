// report.md: the verdict first, then the checks, operations, faults, availability and degradation.
import { FAIL_FAST_TOLERANCE_MS } from "./availability.js";
import { FAULTS } from "./faults.js";
import type { FaultRecord } from "./record.js";
import type { RunResult } from "./result.js";

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const sec = (ms: number) => (ms / 1000).toFixed(1);
/** Lines of the checker's explanation kept in the report (history.jsonl has everything). */
const explanationLinesMax = 80;

export function renderReport(r: RunResult, faults: readonly FaultRecord[]): string {
  const out: string[] = [];
  out.push(`# nemesis: ${r.verdict.toUpperCase()} (exit ${r.exitCode})`, "");
  out.push(
    `Reproduce the schedule: \`${r.options.command}\` (same faults, times and choices; process timing differs).`,
  );
  out.push("");
  out.push(
    `Seed ${r.options.seed}, ${r.options.nodes} nodes, ${sec(r.options.durationMs)} s of faults (whole run ${sec(r.elapsedMs)} s); ` +
      `partitions: ${r.partitions}.`,
  );
  for (const w of r.why) out.push(`- ${w}`);
  out.push("");

  const e = r.explicit;
  const lin = r.linearizability;
  out.push("## Checks", "", "| check | result |", "| --- | --- |");
  out.push(`| linearizable, per stack | ${lin.result} (${lin.steps} steps, ${sec(lin.ms)} s) |`);
  const excused = e.lostExcusedByUnknownPops;
  out.push(
    `| acknowledged pushes lost | ${e.counts.lostWrites}${excused > 0 ? ` (${excused} more unpopped, as many as unknown pops could have taken)` : ""} |`,
  );
  out.push(`| values popped twice | ${e.counts.duplicatePops} |`);
  out.push(`| phantom values (read but never pushed) | ${e.counts.phantomValues} |`);
  out.push(
    `| retried keys applied twice | ${e.counts.duplicateApplies} (over ${e.retriedKeys} retried keys and ${e.echoesAnswered} answered echoes) |`,
  );
  out.push(`| unexpected answers | ${e.counts.unexpectedAnswers} |`);
  out.push(`| node crashes | ${r.nodeCrashes.length} |`);
  const shared = r.sharedLeaderTerms ?? [];
  out.push(
    `| terms with two leaders (node logs) | ${shared.length}${shared.length > 0 ? ` (${shared.map((t) => `term ${t.term}: ${t.nodes.join(",")}`).join("; ")})` : ""} |`,
  );
  out.push(
    `| replicas holding items after the drain | ${r.replicas === undefined ? "not compared (no drain)" : r.replicas.diverged.length} |`,
  );
  out.push("");

  const o = r.ops;
  out.push("## Operations", "");
  out.push(
    `${o.total} operations (push ${o.byKind.push}, pop ${o.byKind.pop}, top ${o.byKind.top}, size ${o.byKind.size}; ` +
      `${o.drainPops} of the pops drained the stacks at the end; ${o.resp ?? 0} over RESP, the rest HTTP). ` +
      `Answered ${o.answered}, ` +
      `of which ${o.settledLater} only later, by re-sending the key; unknown ${o.unknown}; never sent ${o.notApplied}.`,
  );
  out.push("");

  out.push("## Faults", "", "| kind | times | active s | what |", "| --- | --- | --- | --- |");
  for (const spec of FAULTS) {
    const f = r.faultsByKind[spec.kind];
    if (f !== undefined) out.push(`| ${spec.kind} | ${f.count} | ${sec(f.activeMs)} | ${spec.summary} |`);
  }
  out.push("");

  out.push(
    "## Availability",
    "",
    "Operations by the fault active when they started (`none`: no fault, including recovery after a heal); " +
      "ok = answered within the operation deadline, retries included. Requests: single attempts by the " +
      "fault active when each was sent, and the share answered (not 503, timeout or connection error).",
    "",
    "| fault | majority | ops | ok | writes ok | p50 ms | p99 ms | requests answered |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  const quorumOf = new Map(FAULTS.map((f) => [f.kind, f.quorum]));
  for (const [kind, a] of Object.entries(r.availability)) {
    out.push(
      `| ${kind} | ${quorumOf.get(kind) ?? "-"} | ${a.ops} | ${pct(a.share)} | ${pct(a.writeShare)} (${a.writesOk}/${a.writes}) | ` +
        `${a.p50Ms.toFixed(1)} | ${a.p99Ms.toFixed(1)} | ${pct(a.attemptShare)} (${a.attemptsAnswered}/${a.attempts}) |`,
    );
  }
  out.push("");

  const d = r.degradation;
  const m = d.majority;
  out.push("## Degradation", "");
  out.push(
    `- While faults that keep a majority were active, ${d.minorityWritesOk} of ${d.minorityWrites} writes ` +
      `(${pct(d.minorityWriteShare)}) were answered within the operation deadline.`,
  );
  out.push(
    m.attempts === 0
      ? "- No majority-down fault ran: fail-fast not measured."
      : `- While a majority was down, ${m.attempts} attempts reached a live node: ${m.answered503} answered 503 ` +
          `(${m.answered503InTimeout} within the request timeout + ${FAIL_FAST_TOLERANCE_MS} ms; p50 ${m.p50Ms.toFixed(0)} ms, p99 ${m.p99Ms.toFixed(0)} ms, ` +
          `max ${m.maxMs.toFixed(0)} ms), ${m.answeredOther} got another answer, ${m.noAnswer} got none in time.`,
  );
  out.push("");

  const findings: string[] = [];
  if (lin.result === "illegal") {
    const lines = lin.detail.split("\n");
    findings.push("Linearizability:", "```", ...lines.slice(0, explanationLinesMax));
    if (lines.length > explanationLinesMax)
      findings.push(`... ${lines.length - explanationLinesMax} more lines`);
    findings.push("```");
  }
  for (const [check, examples] of Object.entries(e.examples))
    if (examples.length > 0) findings.push(`${check}:`, ...examples.map((x) => `- ${x}`));
  for (const f of faults)
    for (const x of f.findings ?? []) findings.push(`${f.kind} (fault ${f.id}) saw a violation: ${x}`, "");
  for (const c of r.nodeCrashes)
    findings.push(
      `node ${c.node} exited by itself at ${sec(c.at)} s (code ${c.code}, signal ${c.signal}):`,
      "```",
      c.stderrTail.trim(),
      "```",
    );
  if (findings.length > 0) out.push("## Findings", "", ...findings, "");

  out.push("## Fault timeline", "");
  for (const f of faults) for (const s of f.steps) out.push(`- ${sec(s.at)} s ${f.kind}: ${s.what}`);
  out.push("");
  return out.join("\n");
}
