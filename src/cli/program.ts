import { join } from "node:path";
import { Command } from "commander";
import {
  addNodeCommands,
  EXIT_OK,
  type NodeCommandContext,
  type NodeOptions,
  UsageError,
  usageErrorText,
} from "../node/index.js";
import { makeDevCerts } from "./certs.js";
import { addClientCommands, nonNegativeInt, positiveInt } from "./client-commands.js";
import { RESP_BASE_PORT_DEFAULT, STOP_TIMEOUT_MS_DEFAULT } from "./cluster.js";
import { runCluster } from "./cluster-console.js";
import { SEED_BASE_PORT, SEED_NODES_MAX, SEED_PORT_STEP } from "./endpoints.js";
import { failureExitCode } from "./failures.js";
import { invokedAs } from "./invoked-as.js";
import { addMemberCommands } from "./member-commands.js";
import { progressOn } from "./progress.js";
import { addSnapshotCommands } from "./snapshot-commands.js";
import { packageVersion } from "./version.js";

export interface Io {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  readonly input: NodeJS.ReadableStream;
  readonly color: boolean;
  readonly env: NodeJS.ProcessEnv;
}

/** A node's peer port is its client port - 1, so the lowest client port is 2 and the highest 65535. */
const CLIENT_PORT_MIN = 2;
const PORT_MAX = 65_535;

interface ClusterFlags {
  readonly nodes: number;
  readonly baseDir: string;
  readonly basePort: number;
  readonly portStep: number;
  readonly respBasePort: number;
  readonly stopTimeoutMs: number;
  readonly nodeArgs: string;
  readonly controlPort: number;
}

function checkClusterPorts(flags: ClusterFlags): void {
  const lastPort = flags.basePort + (flags.nodes - 1) * flags.portStep;
  if (flags.basePort < CLIENT_PORT_MIN || flags.basePort > PORT_MAX) {
    throw new UsageError(
      "invalid_value",
      `cluster: --base-port ${flags.basePort} is out of range (${CLIENT_PORT_MIN}..${PORT_MAX})`,
    );
  }
  if (lastPort > PORT_MAX) {
    throw new UsageError(
      "invalid_value",
      `cluster: --nodes ${flags.nodes} from --base-port ${flags.basePort} every --port-step ${flags.portStep} ` +
        `needs ports up to ${lastPort} (max ${PORT_MAX}); lower --port-step or --base-port`,
    );
  }
  const lastResp = flags.respBasePort + (flags.nodes - 1) * flags.portStep;
  if (flags.respBasePort > 0 && lastResp > PORT_MAX) {
    throw new UsageError(
      "invalid_value",
      `cluster: the last node's Redis port would be ${lastResp} (max ${PORT_MAX}); lower --resp-base-port or --port-step`,
    );
  }
  // Two listeners on one port: the later node would die at start (EADDRINUSE) and the console run on.
  const owners = new Map<number, string>();
  for (let i = 0; i < flags.nodes; i++) {
    const client = flags.basePort + i * flags.portStep;
    const ports: [number, string][] = [
      [client, `node ${i + 1}'s client port`],
      [client - 1, `node ${i + 1}'s peer port`],
    ];
    if (flags.respBasePort > 0)
      ports.push([flags.respBasePort + i * flags.portStep, `node ${i + 1}'s Redis port`]);
    for (const [port, what] of ports) {
      const other = owners.get(port);
      if (other !== undefined) {
        throw new UsageError(
          "invalid_value",
          `cluster: port ${port} would be both ${other} and ${what}; change --base-port, --port-step or --resp-base-port`,
        );
      }
      owners.set(port, what);
    }
  }
}

/** The whole `raftstack` command line: node flags, node, repair, cluster and the client commands. */
export function buildProgram(io: Io, ctx: NodeCommandContext): Command {
  const program = new Command("raftstack")
    .description("A distributed, fault-tolerant stack service on its own Raft.")
    .version(packageVersion(), "-V, --version", "print the version")
    .configureOutput({
      writeOut: (s) => io.out.write(s),
      writeErr: (s) => io.err.write(s),
      outputError: (s, write) => write(usageErrorText(s)),
    })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  addNodeCommands(program, ctx);

  program
    .command("cluster")
    .description(
      "run a local cluster in this terminal (stop/start/restart/kill/pause/resume N, add, remove N, status, quit)",
    )
    .option("--nodes <n>", "number of nodes", positiveInt("--nodes"), SEED_NODES_MAX)
    .option("--base-dir <dir>", "data dirs are <dir>/raftstack-<id>", ".")
    .option(
      "--base-port <port>",
      "client port of node 1 (peer port = client port - 1)",
      positiveInt("--base-port"),
      SEED_BASE_PORT,
    )
    .option(
      "--port-step <n>",
      "client port distance between nodes",
      positiveInt("--port-step"),
      SEED_PORT_STEP,
    )
    .option(
      "--resp-base-port <port>",
      "Redis protocol port of node 1, the others every --port-step; 0 = no Redis listener",
      nonNegativeInt("--resp-base-port"),
      RESP_BASE_PORT_DEFAULT,
    )
    .option(
      "--stop-timeout-ms <ms>",
      "SIGKILL a node this long after SIGTERM",
      positiveInt("--stop-timeout-ms"),
      STOP_TIMEOUT_MS_DEFAULT,
    )
    .option("--node-args <flags>", 'extra flags for every node, e.g. "--tick-ms 5"', "")
    .option(
      "--control-port <port>",
      "loopback port of the control API the dashboard's buttons call; 0 picks a free one",
      nonNegativeInt("--control-port"),
      0,
    )
    .option("--tls", "client HTTPS and peer mTLS with development certificates in <base-dir>/certs")
    .action(async (flags: ClusterFlags & { tls?: true }) => {
      checkClusterPorts(flags);
      const tlsDir = join(flags.baseDir, "certs");
      if (flags.tls) makeDevCerts({ dir: tlsDir, nodes: flags.nodes });
      await runCluster(
        {
          nodes: flags.nodes,
          baseDir: flags.baseDir,
          basePort: flags.basePort,
          portStep: flags.portStep,
          respBasePort: flags.respBasePort,
          nodeArgs: flags.nodeArgs.split(/\s+/).filter((s) => s !== ""),
          stopTimeoutMs: flags.stopTimeoutMs,
          controlPort: flags.controlPort,
          ...(flags.tls ? { tlsDir } : {}),
          out: io.out,
          color: io.color,
          self: invokedAs(process.argv[1] ?? "raftstack"),
        },
        io.input,
      );
    });

  program
    .command("certs")
    .description("write a CA, node and client certificates for a development cluster (docs/security.md)")
    .requiredOption("--dir <dir>", "where to write ca.pem, node-N.pem, node-N-key.pem, client.pem, ...")
    .option("--nodes <n>", "number of node certificates", positiveInt("--nodes"), SEED_NODES_MAX)
    .option("--hosts <names>", "more host names or addresses the node certificates are valid for", "")
    .option("--force", "replace existing certificates")
    .action((flags: { dir: string; nodes: number; hosts: string; force?: true }) => {
      const hosts = flags.hosts
        .split(",")
        .map((h) => h.trim())
        .filter((h) => h !== "");
      const wrote = makeDevCerts({ dir: flags.dir, nodes: flags.nodes, hosts }, flags.force === true);
      io.out.write(
        wrote
          ? `wrote a CA, ${flags.nodes} node certificates and a client certificate to ${flags.dir}\n`
          : `${flags.dir} already holds ca.pem; nothing written (--force replaces it)\n`,
      );
    });

  addClientCommands(program, io.out);
  addMemberCommands(program, io.out, io.err);
  addSnapshotCommands(program, io);
  return program;
}

/** Stand-ins for tests: what starting a node does. */
export interface RunDeps {
  readonly runNode: (options: NodeOptions) => Promise<number>;
}

/**
 * Runs one `raftstack` command line and resolves with its exit code (see EXIT_* in src/node/main.ts):
 * usage errors are printed and give 2, an error answer or an unreachable cluster 1 (failures.ts).
 */
export async function run(argv: readonly string[], io: Io, deps: RunDeps): Promise<number> {
  const ctx: NodeCommandContext = {
    exitCode: EXIT_OK,
    env: io.env,
    runNode: deps.runNode,
    progress: progressOn(io.err),
    out: io.out,
    err: io.err,
  };
  try {
    await buildProgram(io, ctx).parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    const code = failureExitCode(err, io.err);
    if (code !== undefined) return code;
    throw err;
  }
}
