// The npm package as a user gets it: pack the tarball from a copy of the sources, install it into an
// empty project, run the installed `raftstack`, start a 3-node cluster with it, and use the client
// from a TypeScript file that type-checks. Ports 20370-20389 belong to this file (peer = client - 1).
// `npm install` reads the npm cache first and may reach the registry for metadata it lacks.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";

const REPO = resolve(".");
// Hang guards, not speed checks: every step is CPU work (tsc in prepack, npm install, three node starts,
// tsc again). 31 s in all under one CPU hog; under two the run took 93 s (pack 18 s, install 21 s, the
// cluster's first answer 37 s, the typed client 18 s) and hit the old 90 s bound.
const TEST_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 120_000;
const BASE_PORT = 20380;
const PORT_STEP = 2;
const NODES = 3;
const ENDPOINTS = Array.from({ length: NODES }, (_, i) => `http://127.0.0.1:${BASE_PORT + i * PORT_STEP}`);
/** What the tarball may hold besides dist/src's modules and declarations, and the docs the README links. */
// docs/openapi.json: GET /v1/openapi.json serves it from the package.
const SHIPPED = [
  "package.json",
  "README.md",
  "LICENSE",
  "CHANGELOG.md",
  "bin/raftstack.js",
  "docs/openapi.json",
];

const root = mkdtempSync(join(tmpdir(), "raftstack-pkg-"));
const pids = new Set<number>();
let supervisor: ChildProcess | undefined;

after(() => {
  // The supervisor runs in its own process group (npx and the raftstack under it); nodes in theirs.
  if (supervisor?.pid !== undefined) kill(-supervisor.pid);
  for (const pid of pids) kill(pid);
  rmSync(root, { recursive: true, force: true });
});

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** The parent `npm test`'s package variables must not leak into the npm commands run here. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.startsWith("npm_package_") && !k.startsWith("npm_lifecycle_"),
  ),
);

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sh(cmd: string, args: readonly string[], cwd: string): Promise<Ran> {
  return new Promise((done) => {
    execFile(
      cmd,
      args,
      { cwd, env, timeout: STEP_TIMEOUT_MS, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
      },
    );
  });
}

async function ok(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  const r = await sh(cmd, args, cwd);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A copy of what `npm pack` reads, so that its build (prepack) never touches this worktree's dist/. */
function copySources(): string {
  const src = join(root, "src-copy");
  mkdirSync(join(src, "scripts"), { recursive: true });
  for (const f of [...SHIPPED.filter((f) => !f.startsWith("bin/")), "tsconfig.json", "tsconfig.build.json"]) {
    cpSync(join(REPO, f), join(src, f));
  }
  for (const d of ["bin", "src", "docs"]) cpSync(join(REPO, d), join(src, d), { recursive: true });
  for (const script of ["prepack.js", "copy-assets.js"]) {
    cpSync(join(REPO, "scripts", script), join(src, "scripts", script));
  }
  symlinkSync(join(REPO, "node_modules"), join(src, "node_modules"), "dir");
  return src;
}

const CLIENT_PROGRAM = `import { RaftstackClient, RaftstackError, type StackInfo } from "raftstack";

const client = new RaftstackClient({ endpoints: process.argv.slice(2), deadlineMs: 20_000 });
const id: number = await client.createStack("from-typescript");
const size: number = await client.push(id, ["a", "b"]);
const item: string = await client.pop(id);
const stacks: StackInfo[] = await client.listStacks();
let code = "";
try {
  await client.pop(id);
  await client.pop(id);
} catch (err) {
  if (err instanceof RaftstackError) code = err.code;
}
await client.close();
console.log(JSON.stringify({ size, item, labels: stacks.map((s) => s.label).sort(), code }));
`;

function writeTsProject(app: string, name: string, main: string): void {
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      module: "nodenext",
      moduleResolution: "nodenext",
      strict: true,
      outDir: `out-${name}`,
      types: ["node"],
      typeRoots: [join(REPO, "node_modules/@types")],
    },
    files: [`${name}.ts`],
  };
  writeFileSync(join(app, `${name}.ts`), main);
  writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify(tsconfig, null, 2));
}

test("npm pack → npm install → raftstack binary, a 3-node cluster and the typed client", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const started = Date.now();
  const lap = (what: string) => console.log(`# ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // 1. The tarball holds what runs: dist/src (modules and declarations), bin, docs; no tests, no maps.
  const [packed] = JSON.parse(
    await ok("npm", ["pack", "--json", "--pack-destination", root], copySources()),
  ) as [{ filename: string; files: Array<{ path: string }> }];
  const files = packed.files.map((f) => f.path);
  lap(`packed ${files.length} files`);
  for (const f of [
    ...SHIPPED,
    "dist/src/cli/main.js",
    "dist/src/client/index.js",
    "dist/src/client/index.d.ts",
    "dist/src/dashboard/assets/index.html",
    "dist/src/dashboard/assets/uPlot.iife.min.js",
    // The README links them (a newcomer found them missing from the installed package).
    "docs/resp.md",
    "docs/operations.md",
    "docs/security.md",
    "docs/grafana-dashboard.json",
  ]) {
    assert.ok(files.includes(f), `tarball lacks ${f}`);
  }
  const extra = files.filter(
    (f) =>
      !SHIPPED.includes(f) &&
      !/^docs\/[a-z-]+\.(md|json)$/.test(f) &&
      !/^dist\/src\/[a-z]+\/[a-z0-9-]+\.(js|d\.ts)$/.test(f) &&
      // The dashboard's page and the uPlot it charts with, served by every node.
      !/^dist\/src\/dashboard\/assets\/[A-Za-z0-9.-]+\.(html|js|css)$/.test(f),
  );
  assert.deepEqual(extra, [], "tarball holds files that do not run");
  assert.ok(!files.some((f) => f.startsWith("dist/src/sim/") || f.startsWith("dist/src/check/")));

  // 2. Installed into an empty project.
  const app = join(root, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await ok(
    "npm",
    ["install", join(root, packed.filename), "--prefer-offline", "--no-audit", "--no-fund"],
    app,
  );
  lap("installed");
  const help = await ok("npx", ["--no", "--", "raftstack", "--help"], app);
  assert.match(help, /--data-dir <dir>/);
  assert.match(help, /RAFTSTACK_DATA_DIR/);
  const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  assert.equal(await ok("npx", ["--no", "--", "raftstack", "--version"], app), `${version}\n`);

  // 3. A local cluster from the installed binary; the installed CLI writes and reads through it.
  const proc = spawn(
    "npx",
    ["--no", "--", "raftstack", "cluster", "--nodes", String(NODES), "--base-port", String(BASE_PORT)].concat(
      ["--port-step", String(PORT_STEP), "--base-dir", app],
    ),
    { cwd: app, env, stdio: ["pipe", "pipe", "inherit"], detached: true },
  );
  supervisor = proc;
  let output = "";
  proc.stdout!.setEncoding("utf8").on("data", (s: string) => {
    output += s;
    for (const m of s.matchAll(/started \(pid (\d+)/g)) pids.add(Number(m[1]));
  });
  const exited = new Promise<number | null>((done) => proc.on("exit", (code) => done(code)));
  await until("3 nodes started", () => (pids.size === NODES ? true : undefined));
  assert.match(output, / raftstack status --endpoints /, "the banner names the installed command");
  const bin = join(app, "node_modules/.bin/raftstack");
  const flags = ["--endpoints", ENDPOINTS.join(","), "--deadline-ms", "20000"];
  const id = (await ok(bin, ["create", "jobs", ...flags], app)).trim();
  assert.match(id, /^\d+$/);
  assert.equal(await ok(bin, ["push", id, "x", "y", ...flags], app), "2\n");
  assert.equal(await ok(bin, ["pop", id, ...flags], app), "y\n");
  lap("cluster answered");

  // 4. `import { RaftstackClient } from "raftstack"` type-checks against the shipped declarations and runs.
  const tsc = join(REPO, "node_modules/typescript/bin/tsc");
  writeTsProject(app, "main", CLIENT_PROGRAM);
  await ok(process.execPath, [tsc, "-p", "tsconfig.main.json"], app);
  const result = JSON.parse(await ok(process.execPath, ["out-main/main.js", ...ENDPOINTS], app));
  assert.deepEqual(result, { size: 2, item: "b", labels: ["from-typescript", "jobs"], code: "stack_empty" });
  // The declarations really type the client: a wrong type is a compile error, not `any`.
  writeTsProject(
    app,
    "bad",
    `import { RaftstackClient } from "raftstack";\nexport const n: string = await new RaftstackClient({ endpoints: [] }).size(1);\n`,
  );
  const bad = await sh(process.execPath, [tsc, "-p", "tsconfig.bad.json"], app);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout, /bad\.ts.*TS2322: Type 'number' is not assignable to type 'string'/);
  lap("typescript client ran");

  proc.stdin!.write("quit\n");
  assert.equal(await exited, 0);
  lap("cluster stopped");
});
