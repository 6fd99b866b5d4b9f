// podman for the container test: the flags this machine needs, a base image made from the host's own node
// (no registry is reachable here to pull node:20-slim), and the raftstack image built from the Dockerfile.
import { execFile } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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

/** The shared libraries an executable loads, as `ldd` lists them (absolute paths). */
async function libraries(executable: string): Promise<string[]> {
  const { stdout } = await run("ldd", [executable], { timeout: 30_000 });
  return [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] ?? "").filter((p) => p !== "");
}

/** Copies a host file to the same path under `root`, following symlinks (the copy is a regular file). */
function copyHostFile(root: string, path: string, as = path): void {
  mkdirSync(join(root, dirname(as)), { recursive: true });
  cpSync(realpathSync(path), join(root, as));
}

/**
 * A base image with what the Dockerfile's stages use: node and npm on PATH, /bin/sh for RUN, /usr/bin/env
 * for npm's shebang, and the libraries these load; imported from a tarball, so no registry is needed.
 */
export async function importHostNodeImage(tag: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-base-"));
  try {
    const root = join(dir, "rootfs");
    const node = realpathSync(process.execPath);
    const sh = realpathSync("/bin/sh");
    const env = realpathSync("/usr/bin/env");
    copyHostFile(root, node, "/usr/local/bin/node");
    copyHostFile(root, sh, "/bin/sh");
    copyHostFile(root, env, "/usr/bin/env");
    for (const exe of [node, sh, env]) for (const lib of await libraries(exe)) copyHostFile(root, lib);
    // npm sits next to node in a Debian or NodeSource install: <prefix>/lib/node_modules/npm.
    const npm = ["/usr/lib/node_modules/npm", "/usr/local/lib/node_modules/npm"].find((p) => existsSync(p));
    if (npm === undefined) throw new Error("npm's directory not found next to node on this host");
    cpSync(npm, join(root, "usr/local/lib/node_modules/npm"), { recursive: true });
    symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(root, "usr/local/bin/npm"));
    symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(root, "usr/local/bin/npx"));
    // The host's CA bundle: where TLS to the registry passes through an intercepting proxy (as here),
    // npm inside the build trusts what the host trusts.
    const caBundle = "/etc/ssl/certs/ca-certificates.crt";
    const changes = ["ENV PATH=/usr/local/bin:/usr/bin:/bin"];
    if (existsSync(caBundle)) {
      copyHostFile(root, caBundle);
      changes.push(`ENV NODE_EXTRA_CA_CERTS=${caBundle}`);
    }
    for (const d of ["tmp", "root", "etc"]) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, "tmp"), 0o1777);
    await run("tar", ["-C", root, "-cf", join(dir, "rootfs.tar"), "."], { timeout: COMMAND_TIMEOUT_MS });
    await podman(["import", ...changes.flatMap((c) => ["--change", c]), join(dir, "rootfs.tar"), tag]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
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
