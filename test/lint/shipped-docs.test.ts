// The docs the npm package ships (README.md and docs/*.md, package.json `files`) cite files only the source
// repository has (`test/...`, `src/...`, `scripts/...`, `npm run ...`): a user of the installed package
// looked for them. Each such citation must say so where it stands: in its paragraph, list item or table row
// ("source repository", "a clone of the repository"), in a heading above it ("(source repository)"), or, on a
// page about the implementation, in a note (a `>` line) above its first section that says so for the page.
// docs/performance.md is a lab notebook of the repository's runs and keeps its paths as they were.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const NOTEBOOK = "docs/performance.md";

/** Paths and commands the package does not ship: sources, tests, scripts, benches, the repo's npm scripts. */
const UNSHIPPED = [
  /(?<![\w/.-])(?:src|test|scripts|bench)\/[\w.*/-]*/,
  /\bdist\/(?:test|bench|src\/sim|src\/check)\b/,
  /\bnpm (?:run|test|start)\b/,
];
const MARKED = /source repository|clone of the repository|in a clone/i;

/** The docs the package ships: README.md (npm always includes it) and package.json's docs/*.md. */
function shippedDocs(): string[] {
  const files = (JSON.parse(readFileSync("package.json", "utf8")) as { files: string[] }).files;
  assert.ok(files.includes("docs/*.md"), "package.json ships docs/*.md (else update this test)");
  const docs = readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs].filter((f) => f !== NOTEBOOK);
}

interface Unit {
  readonly line: number;
  readonly text: string;
  /** A heading above it says the section is the source repository's. */
  readonly sectionMarked: boolean;
}

/**
 * A doc's paragraphs, list items and table rows, each with whether a heading above (or the page's note)
 * marks its section; a fenced code block belongs to the paragraph before it (the one that introduces it).
 */
function units(text: string): Unit[] {
  const out: { line: number; text: string; sectionMarked: boolean }[] = [];
  const marks: boolean[] = []; // by heading level
  const firstSection = text.search(/^## /m);
  const head = firstSection < 0 ? text : text.slice(0, firstSection);
  if (head.split("\n").some((l) => l.startsWith(">") && MARKED.test(l))) marks[0] = true;
  let current: { line: number; text: string; sectionMarked: boolean } | undefined;
  let fenced = false;
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.startsWith("```")) {
      fenced = !fenced;
      if (current === undefined) {
        current = { line: i + 1, text: "", sectionMarked: marks.some(Boolean) };
        out.push(current);
      }
      continue;
    }
    if (fenced) {
      if (current !== undefined) current.text += `\n${line}`;
      continue;
    }
    const heading = /^(#+) (.*)$/.exec(line);
    if (heading !== null) {
      const level = (heading[1] ?? "").length;
      marks.length = level;
      marks[level - 1] = MARKED.test(heading[2] ?? "") || (level === 1 && marks[0] === true);
      current = undefined;
      continue;
    }
    if (line.trim() === "") {
      // A code block that follows keeps its paragraph.
      if (!lines[i + 1]?.startsWith("```")) current = undefined;
      continue;
    }
    if (current === undefined || /^\s*(?:[-*] |\d+\. |\|)/.test(line)) {
      current = { line: i + 1, text: line, sectionMarked: marks.some(Boolean) };
      out.push(current);
    } else current.text += `\n${line}`;
  }
  return out;
}

test("shipped docs mark every citation of a file only the source repository has", { timeout: 10_000 }, () => {
  const unmarked: string[] = [];
  for (const file of shippedDocs()) {
    for (const u of units(readFileSync(file, "utf8"))) {
      const cited = UNSHIPPED.map((re) => re.exec(u.text)?.[0]).find((m) => m !== undefined);
      if (cited !== undefined && !u.sectionMarked && !MARKED.test(u.text))
        unmarked.push(`${file}:${u.line}: ${cited}`);
    }
  }
  assert.deepEqual(unmarked, [], `unmarked citations:\n${unmarked.join("\n")}`);
});

test("the check bites: an unmarked citation is found, a marked one or one under a marked heading is not", {
  timeout: 10_000,
}, () => {
  const found = (text: string) =>
    units(text).filter(
      (u) => !u.sectionMarked && !MARKED.test(u.text) && UNSHIPPED.some((re) => re.test(u.text)),
    ).length;
  assert.equal(found("Tested by `test/e2e/hosts.test.ts`.\n"), 1);
  assert.equal(found("Run:\n\n```sh\nnpm run sim -- --seed 1\n```\n"), 1);
  assert.equal(found("Tested in the source repository by `test/e2e/hosts.test.ts`.\n"), 0);
  assert.equal(
    found("## Simulator (source repository)\n\n```sh\nnpm run sim\n```\n\n### Seeds\n\nsrc/sim\n"),
    0,
  );
  assert.equal(found("## Simulator (source repository)\n\n## Next\n\n`src/sim`\n"), 1);
  assert.equal(found("`node_modules/raftstack/dist/src/client/index.js` ships\n"), 0);
  assert.equal(found("| a | `src/x.ts` |\n| b | source repository: `src/y.ts` |\n"), 1);
  const page = "# Design\n\n> Paths on this page are in the source repository.\n\n## Rules\n\n`src/raft`\n";
  assert.equal(found(page), 0);
  assert.equal(found(page.replace("> Paths", "Paths")), 1, "a note is a `>` line");
  assert.equal(
    found(
      `${page}\n> Paths below are in the source repository.\n\n\`src/x\`\n`.replace("> Paths on", "Paths on"),
    ),
    2,
  );
});
