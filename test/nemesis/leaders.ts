// Election safety from the nodes' own logs: every node logs "became leader in term T" (the core's
// roleChanged event, at info). Two nodes that led the same term break Raft's first invariant whether or
// not the history shows it (the second leader's writes may all have failed, or been retried elsewhere).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** A term that more than one node led, with the nodes. */
export interface SharedTerm {
  readonly term: number;
  readonly nodes: readonly number[];
}

const logName = /^node-(\d+)\.log$/;

/** Terms led by more than one node, from the `node-N.log` files in `logDir` (pino JSON lines). */
export function sharedLeaderTerms(logDir: string): SharedTerm[] {
  if (!existsSync(logDir)) return [];
  const leadersOf = new Map<number, Set<number>>();
  for (const file of readdirSync(logDir)) {
    const m = logName.exec(file);
    if (m === null) continue;
    const node = Number(m[1]);
    for (const term of termsLed(readFileSync(join(logDir, file), "utf8"))) {
      const set = leadersOf.get(term) ?? new Set<number>();
      set.add(node);
      leadersOf.set(term, set);
    }
  }
  return [...leadersOf]
    .filter(([, nodes]) => nodes.size > 1)
    .map(([term, nodes]) => ({ term, nodes: [...nodes].sort((a, b) => a - b) }))
    .sort((a, b) => a.term - b.term);
}

/** Terms in which one node's log says it became leader. */
export function termsLed(text: string): number[] {
  const terms: number[] = [];
  for (const line of text.split("\n")) {
    // Cheap filter first: the logs hold many lines, few of them role changes.
    if (!line.includes('"roleChanged"') || !line.startsWith("{")) continue;
    let entry: { type?: unknown; to?: unknown; term?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // a line cut by SIGKILL
    }
    if (entry.type === "roleChanged" && entry.to === "leader" && typeof entry.term === "number")
      terms.push(entry.term);
  }
  return terms;
}
