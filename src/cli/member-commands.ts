import type { Command } from "commander";
import type { Member, RaftstackClient } from "../client/index.js";
import { type ClientFlags, positiveInt, withClient, withClientFlags } from "./client-commands.js";
import { invokedAs } from "./invoked-as.js";
import { addMember, joinCommand } from "./membership.js";
import { formatTable } from "./table.js";

/** `raftstack member add|remove|list` and `raftstack leader transfer` (docs/membership.md). */
export function addMemberCommands(
  program: Command,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): void {
  const print = (s: string | number): void => {
    out.write(`${s}\n`);
  };
  const member = program.command("member").description("add, remove or list cluster members");

  withClientFlags(
    member
      .command("add")
      .description("add a member as a learner (promoted once caught up) → its id; then start it with --join"),
  )
    .argument("<peerUrl>", "the new member's peer URL, e.g. http://10.0.0.4:2380")
    .option("--client-url <url>", "its client URL (it publishes its own once it runs)")
    .option("--id <n>", "the id to give it (default: the cluster's next unused id)", positiveInt("--id"))
    .action(async (peerUrl: string, flags: ClientFlags & { clientUrl?: string; id?: number }) => {
      const options = {
        ...(flags.clientUrl === undefined ? {} : { clientUrl: flags.clientUrl }),
        ...(flags.id === undefined ? {} : { id: flags.id }),
      };
      const result = await withClient(flags, (c) => addMember(c, peerUrl, options));
      print(result.added.id);
      // stdout stays the id alone (scripts read it); the next step goes to stderr.
      err.write(
        `start member ${result.added.id} on its host (with the other nodes' --cluster-token and TLS flags, if any):\n` +
          `  ${joinCommand(invokedAs(process.argv[1] ?? "raftstack"), result)}\n`,
      );
    });

  withClientFlags(member.command("remove").description("remove a member (a leader hands off first)"))
    .argument("<id>", "member id", positiveInt("member id"))
    .action(async (id: number, flags: ClientFlags) => {
      await withClient(flags, (c) => c.removeMember(id));
      print(id);
    });

  withClientFlags(member.command("list").description("members: id, role, peer URL, client URL, leader"))
    .option("--json", "print the JSON answer of GET /v1/members")
    .action(async (flags: ClientFlags & { json?: true }) => {
      const list = await withClient(flags, (c: RaftstackClient) => c.members());
      if (flags.json) {
        print(JSON.stringify(list));
        return;
      }
      const row = (m: Member) => [
        String(m.id),
        m.role,
        m.peerUrl,
        m.clientUrl === "" ? "-" : m.clientUrl,
        m.id === list.leader ? "*" : "",
      ];
      print(formatTable(["id", "role", "peer URL", "client URL", "leader"], list.members.map(row)));
    });

  const leader = program.command("leader").description("leadership");
  withClientFlags(
    leader
      .command("transfer")
      .description("hand leadership to a voter (default: the most caught-up responsive one) → new leader"),
  )
    .argument("[id]", "the voter to lead", positiveInt("voter id"))
    .action(async (id: number | undefined, flags: ClientFlags) => {
      print(await withClient(flags, (c) => c.transferLeader(id)));
    });
}
