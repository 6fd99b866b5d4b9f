import { Command, InvalidArgumentError } from "commander";
import { DEADLINE_MS_DEFAULT, RaftstackClient, RaftstackError, TIMEOUT_MS_DEFAULT } from "../client/index.js";
import { runCluster, STOP_TIMEOUT_MS_DEFAULT } from "./cluster.js";
import {
  DEFAULT_ENDPOINTS,
  parseEndpoints,
  SEED_BASE_PORT,
  SEED_NODES_MAX,
  SEED_PORT_STEP,
} from "./endpoints.js";
import { statusTable } from "./status.js";
import { formatTable } from "./table.js";

export interface Io {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  readonly input: NodeJS.ReadableStream;
  readonly color: boolean;
}

/** How argv is dispatched: node and repair go to src/node's commands, everything else to commander. */
export type Route =
  | { readonly kind: "node" | "repair"; readonly argv: readonly string[] }
  | { readonly kind: "command" };

const HELP_FLAGS = new Set(["-h", "--help", "-V", "--version"]);

/**
 * The seed ran a node with bare flags (`raftstack --id 1 --cluster ... --port 12380`); that form and
 * `raftstack node <flags>` both start a node, and their flags go verbatim to parseNodeArgs.
 */
export function route(argv: readonly string[]): Route {
  const first = argv[0];
  const help = argv.slice(1).some((a) => a === "-h" || a === "--help");
  if ((first === "node" || first === "repair") && !help) return { kind: first, argv: argv.slice(1) };
  if (first?.startsWith("-") && !HELP_FLAGS.has(first)) return { kind: "node", argv };
  return { kind: "command" };
}

export interface ClientFlags {
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  readonly deadlineMs: number;
}

function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${flag}: expected a positive integer, got ${v}`);
    }
    return n;
  };
}

const stackIdArg = positiveInt("stack id");

function endpointsArg(v: string): string[] {
  try {
    return parseEndpoints(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function withClientFlags(cmd: Command): Command {
  return cmd
    .option("--endpoints <urls>", "comma-separated client URLs", endpointsArg, [...DEFAULT_ENDPOINTS])
    .option("--timeout-ms <ms>", "per-attempt timeout", positiveInt("--timeout-ms"), TIMEOUT_MS_DEFAULT)
    .option(
      "--deadline-ms <ms>",
      "overall deadline with retries",
      positiveInt("--deadline-ms"),
      DEADLINE_MS_DEFAULT,
    );
}

/** Runs one client call with a fresh client and closes it, so the process can exit. */
async function withClient<T>(flags: ClientFlags, fn: (c: RaftstackClient) => Promise<T>): Promise<T> {
  const client = new RaftstackClient({
    endpoints: flags.endpoints,
    timeoutMs: flags.timeoutMs,
    deadlineMs: flags.deadlineMs,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function buildProgram(io: Io): Command {
  const program = new Command("raftstack")
    .description(
      "A distributed, fault-tolerant stack service on its own Raft.\n" +
        "Start a node: raftstack --id 1 --cluster http://127.0.0.1:12379,... --port 12380 (or raftstack node ...)",
    )
    .version("0.1.0")
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .exitOverride();
  const print = (s: string | number): void => {
    io.out.write(`${s}\n`);
  };

  // Listed for help only; route() hands node flags to src/node.
  program
    .command("node")
    .description("start one node: --id N --cluster PEER_URLS --port P [--data-dir D] ... (README)");

  withClientFlags(program.command("create").description("create a stack (or get the existing one) → id"))
    .argument("<label>")
    .action(async (label: string, flags: ClientFlags) =>
      print(await withClient(flags, (c) => c.createStack(label))),
    );

  withClientFlags(program.command("id").description("id of the stack with this label"))
    .argument("<label>")
    .action(async (label: string, flags: ClientFlags) => {
      const id = await withClient(flags, (c) => c.stackId(label));
      if (id === undefined)
        throw new RaftstackError("stack_not_found", 404, `no stack labelled ${JSON.stringify(label)}`);
      print(id);
    });

  withClientFlags(program.command("push").description("push items (in order) → new size"))
    .argument("<id>", "stack id", stackIdArg)
    .argument("<items...>")
    .action(async (id: number, items: string[], flags: ClientFlags) =>
      print(await withClient(flags, (c) => c.push(id, items.length === 1 ? items[0]! : items))),
    );

  const reads: Array<[string, string, (c: RaftstackClient, id: number) => Promise<string | number>]> = [
    ["pop", "remove and print the top item", (c, id) => c.pop(id)],
    ["top", "print the top item", (c, id) => c.top(id)],
    ["size", "print the number of items", (c, id) => c.size(id)],
  ];
  for (const [name, what, call] of reads) {
    withClientFlags(program.command(name).description(what))
      .argument("<id>", "stack id", stackIdArg)
      .action(async (id: number, flags: ClientFlags) => print(await withClient(flags, (c) => call(c, id))));
  }

  withClientFlags(program.command("delete").description("delete a stack"))
    .argument("<id>", "stack id", stackIdArg)
    .action(async (id: number, flags: ClientFlags) => {
      await withClient(flags, (c) => c.deleteStack(id));
      print(id);
    });

  withClientFlags(program.command("list").description("list stacks: id, label, size")).action(
    async (flags: ClientFlags) => {
      const stacks = await withClient(flags, (c) => c.listStacks());
      print(
        formatTable(
          ["id", "label", "size"],
          stacks.map((s) => [String(s.id), s.label, String(s.size)]),
        ),
      );
    },
  );

  program
    .command("status")
    .description("each node's id, role, term, leader, commit, applied")
    .option("--endpoints <urls>", "comma-separated client URLs", endpointsArg, [...DEFAULT_ENDPOINTS])
    .action(async (flags: { endpoints: string[] }) => print(await statusTable(flags.endpoints)));

  program
    .command("cluster")
    .description("run a local cluster in this terminal (stop/start/kill/pause/resume N, status, quit)")
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
      "--stop-timeout-ms <ms>",
      "SIGKILL a node this long after SIGTERM",
      positiveInt("--stop-timeout-ms"),
      STOP_TIMEOUT_MS_DEFAULT,
    )
    .option("--node-args <flags>", 'extra flags for every node, e.g. "--tick-ms 5"', "")
    .action(
      async (flags: {
        nodes: number;
        baseDir: string;
        basePort: number;
        portStep: number;
        stopTimeoutMs: number;
        nodeArgs: string;
      }) => {
        const lastPort = flags.basePort + (flags.nodes - 1) * flags.portStep;
        if (flags.basePort < 2 || lastPort > 65535) {
          throw new InvalidArgumentError(`ports ${flags.basePort}..${lastPort} are out of range`);
        }
        await runCluster(
          {
            nodes: flags.nodes,
            baseDir: flags.baseDir,
            basePort: flags.basePort,
            portStep: flags.portStep,
            nodeArgs: flags.nodeArgs.split(/\s+/).filter((s) => s !== ""),
            stopTimeoutMs: flags.stopTimeoutMs,
            out: io.out,
            color: io.color,
          },
          io.input,
        );
      },
    );

  // Listed for help only; route() hands repair to src/node.
  program
    .command("repair")
    .description("move a damaged WAL/snapshot aside so the node restarts empty and catches up")
    .requiredOption("--data-dir <dir>", "the node's data directory");

  return program;
}
