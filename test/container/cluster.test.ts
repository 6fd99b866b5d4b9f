// The container image: built from the repository's Dockerfile, three containers on one podman network
// reach each other by container name, a push through one container is read through another, the image's
// HEALTHCHECK passes, and everything the test made is removed. Opt-in: RAFTSTACK_CONTAINER_TEST=1 (one skip
// line otherwise, and when podman is not usable). Alone it takes 101-121 s here, inside `npm test` 194 s:
// its image build runs `npm ci` twice and tsc inside containers (so the registry must be reachable from them).
// Without a reachable registry the base image is imported from the host's node (RAFTSTACK_BASE_IMAGE
// names another base instead, e.g. node:20-slim where a registry is reachable). Uses no host ports.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildImage, importHostNodeImage, podman, podmanMissing, RUNTIME_FLAGS } from "./podman.js";

const TEST_TIMEOUT_MS = 900_000;
const CLUSTER_WAIT_MS = 60_000;
const NODES = [1, 2, 3];
/** Names unique to this run, so two runs (worktrees) never touch what the other created. */
const PREFIX = `raftstack-ctest-${process.pid}`;
const IMAGE = `localhost/${PREFIX}:latest`;
const HOST_BASE_IMAGE = `localhost/${PREFIX}-base:host-node`;
const NETWORK = `${PREFIX}-net`;
const name = (id: number) => `${PREFIX}-${id}`;
const CLUSTER = NODES.map((id) => `http://${name(id)}:12379`).join(",");
const CLI = ["node", "/opt/raftstack/bin/raftstack.js"];

const optedIn = process.env["RAFTSTACK_CONTAINER_TEST"] === "1";
const missing = optedIn ? await podmanMissing() : undefined;
const skip = !optedIn
  ? "container test is opt-in (~2-3 min): RAFTSTACK_CONTAINER_TEST=1 npm test"
  : missing === undefined
    ? false
    : `container test skipped: ${missing}`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs the raftstack CLI inside a container, against that container's own node (by its name). */
function cli(id: number, args: readonly string[]): Promise<string> {
  return podman(["exec", name(id), ...CLI, ...args, "--endpoints", `http://${name(id)}:12380`]);
}

async function danglingImages(): Promise<Set<string>> {
  const ids = await podman(["images", "--quiet", "--no-trunc", "--filter", "dangling=true"]);
  return new Set(ids.split("\n").filter((s) => s !== ""));
}

/** Removes what this test creates; each removal may find nothing. */
async function cleanUp(): Promise<void> {
  const quietly = (args: string[]) => podman(args).catch(() => "");
  await quietly(["rm", "--force", "--time", "2", ...NODES.map(name)]);
  await quietly(["volume", "rm", "--force", ...NODES.map((id) => `${name(id)}-data`)]);
  await quietly(["network", "rm", "--force", NETWORK]);
}

describe("the container image runs a 3-node cluster", { skip, timeout: TEST_TIMEOUT_MS }, () => {
  const started = Date.now();
  /** The untagged images of the build's stages (this build's only: other images are not ours). */
  const buildStages: string[] = [];
  const lap = (what: string) => console.log(`# ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  before(async () => {
    await cleanUp();
    let base = process.env["RAFTSTACK_BASE_IMAGE"];
    if (base === undefined) {
      await importHostNodeImage(HOST_BASE_IMAGE);
      base = HOST_BASE_IMAGE;
      lap("base image imported from the host's node");
    }
    const before = await danglingImages();
    await buildImage(IMAGE, base, process.cwd());
    for (const image of await danglingImages()) if (!before.has(image)) buildStages.push(image);
    lap("image built");
  });

  after(async () => {
    await cleanUp();
    await podman(["rmi", "--force", IMAGE, HOST_BASE_IMAGE]).catch(() => "");
    if (buildStages.length > 0) await podman(["rmi", "--force", ...buildStages]).catch(() => "");
    lap("removed");
  });

  test("the image runs as a non-root user with a /data volume and a health check", async () => {
    interface Healthcheck {
      Test: string[];
    }
    const [image] = JSON.parse(await podman(["image", "inspect", IMAGE])) as [
      {
        Size: number;
        Healthcheck?: Healthcheck;
        Config: { User: string; Volumes?: Record<string, unknown>; Healthcheck?: Healthcheck };
      },
    ];
    assert.equal(image.Config.User, "1000:1000");
    assert.deepEqual(Object.keys(image.Config.Volumes ?? {}), ["/data"]);
    // podman reports the health check next to Config, docker inside it.
    const healthcheck = image.Healthcheck ?? image.Config.Healthcheck;
    assert.match((healthcheck?.Test ?? []).join(" "), /\/livez/);
    console.log(`# image size: ${(image.Size / 1e6).toFixed(0)} MB`);
  });

  test("three containers by name: push through node 1, read through node 3", async () => {
    await podman(["network", "create", NETWORK]);
    for (const id of NODES) {
      await podman([
        "run",
        "--detach",
        ...RUNTIME_FLAGS,
        "--name",
        name(id),
        "--hostname",
        name(id),
        "--network",
        NETWORK,
        "--volume",
        `${name(id)}-data:/data`,
        "--env",
        `RAFTSTACK_ID=${id}`,
        "--env",
        `RAFTSTACK_CLUSTER=${CLUSTER}`,
        IMAGE,
      ]);
    }
    lap("3 containers started");
    const deadline = Date.now() + CLUSTER_WAIT_MS;
    let id = "";
    for (;;) {
      // Creating a stack through node 1 succeeds once a leader is elected (a follower forwards it).
      id = await cli(1, ["create", "container-test"]).catch(() => "");
      if (id !== "") break;
      if (Date.now() > deadline) {
        const logs = await Promise.all(
          NODES.map((n) => podman(["logs", "--tail", "20", name(n)]).catch(String)),
        );
        assert.fail(`no cluster within ${CLUSTER_WAIT_MS} ms:\n${logs.join("\n")}`);
      }
      await sleep(500);
    }
    id = id.trim();
    lap(`leader elected, stack ${id} created`);
    assert.equal(await cli(1, ["push", id, "a", "b", "c"]), "3\n");
    assert.equal(await cli(3, ["pop", id]), "c\n");
    assert.equal(await cli(2, ["size", id]), "2\n");
    // The image's HEALTHCHECK (GET /livez) passes in every container; `healthcheck run` exits 0 if healthy.
    for (const n of NODES) await podman(["healthcheck", "run", name(n)]);
    // The data lives on the volume, owned by the node's user: a restarted container keeps the stack.
    await podman(["restart", "--time", "5", name(3)]);
    for (const until = Date.now() + CLUSTER_WAIT_MS; ; await sleep(500)) {
      const size = await cli(3, ["size", id]).catch(() => "");
      if (size === "2\n") break;
      assert.ok(Date.now() < until, `node 3 did not come back with the stack (size ${JSON.stringify(size)})`);
    }
    lap("pushed via 1, popped via 3, health checks pass, node 3 restarted with its data");
  });
});
