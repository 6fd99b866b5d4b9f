// podman for the container test: the flags this machine needs, a base image made from the host's own node
// (no registry is reachable here to pull node:20-slim), and the raftstack image built from the Dockerfile.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Every podman command's own time limit; an image build with `npm ci` inside takes the longest. */
const COMMAND_TIMEOUT_MS = 300_000;
const OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

/**
 * crun fails here, and the default ulimits exceed what this container host allows; with these flags
 * `podman run` and `podman build` work (found by trying). On a normal host they are harmless.
 */
export const RUNTIME_FLAGS = [
  "--runtime",
  "/usr/sbin/runc",
  "--ulimit",
  "nofile=1024:1024",
  "--ulimit",
  "nproc=1000:1000",
];

export async function podman(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run("podman", args, {
      timeout: COMMAND_TIMEOUT_MS,
      maxBuffer: OUTPUT_BYTES_MAX,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`podman ${args.join(" ")} failed: ${e.stderr ?? ""}${e.stdout ?? ""}`.slice(0, 4000), {
      cause: err,
    });
  }
}

/** Whether podman is installed and answers; the reason otherwise. */
export async function podmanMissing(): Promise<string | undefined> {
  try {
    await run("podman", ["version", "--format", "{{.Client.Version}}"], { timeout: 30_000 });
    return undefined;
  } catch (err) {
    return `podman is not usable here (${(err as Error).message.split("\n")[0]})`;
  }
}

/** A base image from this host's node, npm and libraries (scripts/host-node-image.sh says how). */
export async function importHostNodeImage(tag: string): Promise<void> {
  try {
    await run("sh", ["scripts/host-node-image.sh", tag], { timeout: COMMAND_TIMEOUT_MS });
  } catch (err) {
    throw new Error(`scripts/host-node-image.sh failed: ${(err as { stderr?: string }).stderr ?? ""}`, {
      cause: err,
    });
  }
}

/** `podman build` of the repository's Dockerfile on the given base image. */
export async function buildImage(tag: string, baseImage: string, context: string): Promise<void> {
  await podman([
    "build",
    ...RUNTIME_FLAGS,
    // The OCI image format has no HEALTHCHECK; podman keeps it only in the docker format.
    "--format",
    "docker",
    "--build-arg",
    `BASE_IMAGE=${baseImage}`,
    "--tag",
    tag,
    "--file",
    join(context, "Dockerfile"),
    context,
  ]);
}
