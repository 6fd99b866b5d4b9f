import { type Command, InvalidArgumentError, Option } from "commander";
import { DEADLINE_MS_DEFAULT, RaftstackClient, RaftstackError, TIMEOUT_MS_DEFAULT } from "../client/index.js";
import { type CredentialFlags, credentialsOf, withCredentials } from "./credentials.js";
import { DEFAULT_ENDPOINT_ARGS, type EndpointArg, endpointsOf, parseEndpoints } from "./endpoints.js";
import {
  ClusterDegradedError,
  DOWN,
  degradedReason,
  probeMembers,
  statusJson,
  statusTable,
  tokenRefusal,
} from "./status.js";
import { formatTable } from "./table.js";

export interface ClientFlags extends CredentialFlags {
  readonly endpoints: readonly EndpointArg[];
  readonly timeoutMs: number;
  readonly deadlineMs: number;
}

/** A commander argument parser for an integer ≥ `min`; its message names the flag. */
function intAtLeast(min: 0 | 1, flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      const what = min === 1 ? "a positive integer" : "an integer ≥ 0";
      throw new InvalidArgumentError(`${flag}: expected ${what}, got ${v}`);
    }
    return n;
  };
}

export const positiveInt = (flag: string) => intAtLeast(1, flag);
export const nonNegativeInt = (flag: string) => intAtLeast(0, flag);

const stackIdArg = positiveInt("stack id");

export function withEndpoints(cmd: Command): Command {
  // Also from RAFTSTACK_ENDPOINTS: a cluster on other ports than the seed's is named once per shell.
  const endpoints = new Option("--endpoints <urls>", "comma-separated client URLs or ports")
    .env("RAFTSTACK_ENDPOINTS")
    .argParser(parseEndpoints)
    .default([...DEFAULT_ENDPOINT_ARGS], DEFAULT_ENDPOINT_ARGS.map((e) => new URL(e.origin).host).join(","));
  return withCredentials(cmd.addOption(endpoints)).addHelpText(
    "after",
    "\nA bare port or host:port means http://127.0.0.1:PORT or http://HOST:PORT, or https:// with --cacert,\n" +
      "--cert or --key (a URL keeps its scheme).",
  );
}

export function withClientFlags(cmd: Command): Command {
  return withEndpoints(cmd)
    .option("--timeout-ms <ms>", "per-attempt timeout", positiveInt("--timeout-ms"), TIMEOUT_MS_DEFAULT)
    .option(
      "--deadline-ms <ms>",
      "overall deadline with retries",
      positiveInt("--deadline-ms"),
      DEADLINE_MS_DEFAULT,
    );
}

/** Runs one client call with a fresh client and closes it, so the process can exit. */
export async function withClient<T>(flags: ClientFlags, fn: (c: RaftstackClient) => Promise<T>): Promise<T> {
  const client = new RaftstackClient({
    endpoints: endpointsOf(flags),
    timeoutMs: flags.timeoutMs,
    deadlineMs: flags.deadlineMs,
    ...credentialsOf(flags),
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** The commands that talk to a running cluster: create, id, push, pop, top, size, delete, list, status. */
export function addClientCommands(program: Command, out: NodeJS.WritableStream): void {
  const print = (s: string | number): void => {
    out.write(`${s}\n`);
  };

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

  withEndpoints(
    program
      .command("status")
      .description(
        "every member's id, role, term, leader, commit, applied, and match as the leader tracks it, members that " +
          "do not answer too (exit 1 if no node answers or one refuses for want of a token, 4 if no leader is known or a member is down or cut off from the leader)",
      ),
  )
    .option("--json", "print a JSON array, one object per endpoint and per member found through them")
    .action(async (flags: CredentialFlags & { endpoints: EndpointArg[]; json?: true }) => {
      const endpoints = endpointsOf(flags);
      const rows = await probeMembers(endpoints, credentialsOf(flags));
      print(flags.json ? statusJson(rows) : statusTable(rows));
      if (rows.every((r) => !r.up && r.error === DOWN)) {
        const hint = rows.flatMap((r) => (!r.up && r.hint !== undefined ? [`: ${r.hint}`] : []))[0] ?? "";
        throw new RaftstackError("unavailable", 0, `no node answered (${endpoints.join(", ")})${hint}`);
      }
      const refused = tokenRefusal(rows);
      if (refused !== undefined) throw refused;
      const degraded = degradedReason(rows);
      if (degraded !== undefined) throw new ClusterDegradedError(degraded);
    });
}
