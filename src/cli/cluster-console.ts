import { createInterface } from "node:readline";
import { certFiles } from "./certs.js";
import { CONSOLE_HELP, LocalCluster, type LocalClusterOptions } from "./cluster.js";
import { lockConsole } from "./console-lock.js";
import { ControlServer, dashboardUrl } from "./control.js";
import { DEFAULT_ENDPOINTS } from "./endpoints.js";

/** `respPort`: node 1's Redis port, when the nodes serve RESP (under TLS, redis-cli needs to be told). */
export function banner(
  endpoints: readonly string[],
  self: string,
  tlsDir?: string,
  respPort?: number,
): string {
  const a = endpoints[0] ?? "http://127.0.0.1:12380";
  const b = endpoints[1] ?? a;
  const sameAsDefault = endpoints.join(",") === DEFAULT_ENDPOINTS.join(",");
  const curl = tlsDir === undefined ? "curl -L" : `curl --cacert ${certFiles(tlsDir).ca} -L`;
  const cacert = tlsDir === undefined ? "" : ` --cacert ${certFiles(tlsDir).ca}`;
  return [
    `raftstack: ${endpoints.length} nodes, client URLs ${endpoints.join(" ")}`,
    "try (any node answers; run them in another terminal):",
    `  ${curl} ${a}/sCreate -XPOST -d 1        # create stack with label "1" -> its id`,
    `  ${curl} ${a}/sPush -XPOST -d 1,10       # push 10 onto stack 1 -> new size`,
    `  ${curl} ${b}/sTop -XPOST -d 1           # -> 10`,
    `  ${curl} ${b}/sSize -XPOST -d 1          # -> 1`,
    `  ${curl} ${a}/sPop -XPOST -d 1           # -> 10`,
    `  ${self} status${sameAsDefault ? "" : ` --endpoints ${endpoints.join(",")}`}${cacert}`,
    ...(tlsDir === undefined || respPort === undefined
      ? []
      : [`  redis-cli --tls${cacert} -p ${respPort} LPUSH jobs a   # the Redis ports serve TLS too`]),
    CONSOLE_HELP,
    "Ctrl-C (or closing the terminal) stops every node gracefully.",
  ].join("\n");
}

/**
 * The `raftstack cluster` command: starts the nodes, reads console commands from `input` until
 * quit or Ctrl-C, then stops every node. EOF on input keeps the cluster running (it may be detached).
 * Throws ConsoleLockedError, before anything starts, while another console runs in the base dir.
 */
export async function runCluster(opts: LocalClusterOptions, input: NodeJS.ReadableStream): Promise<void> {
  const release = await lockConsole(opts.baseDir);
  try {
    await superviseCluster(opts, input);
  } finally {
    await release();
  }
}

async function superviseCluster(opts: LocalClusterOptions, input: NodeJS.ReadableStream): Promise<void> {
  const cluster = new LocalCluster(opts);
  const onExit = () => cluster.killAllSync();
  process.on("exit", onExit);
  const respPort = opts.respBasePort === 0 ? undefined : opts.respBasePort;
  opts.out.write(`${banner(cluster.endpoints, opts.self, opts.tlsDir, respPort)}\n`);
  const control = new ControlServer(cluster, {
    port: opts.controlPort ?? 0,
    allowedOrigins: () => cluster.endpoints.flatMap((e) => [e, e.replace("127.0.0.1", "localhost")]),
  });
  const controlUrl = await control.listen();
  opts.out.write(
    `dashboard (its buttons stop, kill, pause and restart nodes; keep this link private):\n` +
      `  ${dashboardUrl(cluster.endpoints[0] ?? "", controlUrl, control.token)}\n`,
  );
  cluster.startAll();
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      opts.out.write("stopping all nodes...\n");
      await cluster.stopAll();
    })();
    return stopping;
  };
  let onSignal = () => {};
  await new Promise<void>((resolve) => {
    onSignal = () => void shutdown().then(resolve);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // A closed terminal or a dropped ssh session: the nodes run in their own process groups, so without
    // this they would outlive the console (and hold their data dirs).
    process.on("SIGHUP", onSignal);
    const rl = createInterface({ input, terminal: false });
    // Commands run one at a time so "stop 2" finishes before "start 2" begins.
    let queue = Promise.resolve(true);
    rl.on("line", (line) => {
      queue = queue.then(async (running) => {
        if (!running) return false;
        const more = await cluster.command(line).catch((err: Error) => {
          opts.out.write(`error: ${err.message}\n`);
          return true;
        });
        if (!more) {
          rl.close();
          void shutdown().then(resolve);
        }
        return more;
      });
    });
  });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.off("SIGHUP", onSignal);
  process.off("exit", onExit);
  await control.close();
}
