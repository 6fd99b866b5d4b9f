import { type Role, roleAllows } from "../api/index.js";
import type { AccessControl } from "../server/index.js";
import type { CommandSpec, Session } from "./command-types.js";
import { error, type Reply } from "./reply.js";

/** Commands a client may send before AUTH: the handshake itself and leaving. */
const OPEN_COMMANDS: ReadonlySet<string> = new Set(["AUTH", "HELLO", "QUIT"]);
/** Deleting stacks needs admin, as DELETE /v1/stacks/:id does. */
const ADMIN_COMMANDS: ReadonlySet<string> = new Set(["DEL", "UNLINK"]);

/** The role a command needs with access control on; undefined for the open ones. */
export function commandRole(spec: CommandSpec): Role | undefined {
  if (OPEN_COMMANDS.has(spec.name)) return undefined;
  if (ADMIN_COMMANDS.has(spec.name)) return "admin";
  return spec.flags.includes("write") ? "write" : "read";
}

/**
 * The refusal of `spec` for this session, or undefined when it may run: -NOAUTH before a valid AUTH,
 * -NOPERM when the token's role is too low. The token is looked up on every command, so a token taken
 * out of the file (SIGHUP) stops working on open connections too.
 */
export function accessRefusal(
  spec: CommandSpec,
  session: Session,
  access: AccessControl | undefined,
): { readonly reply: Reply; readonly reason: "unauthorized" | "forbidden" } | undefined {
  if (access === undefined) return undefined;
  const need = commandRole(spec);
  if (need === undefined) return undefined;
  const role = session.token === undefined ? undefined : access.roleOf(session.token);
  if (role === undefined)
    return { reply: error("NOAUTH", "Authentication required."), reason: "unauthorized" };
  if (!roleAllows(role, need)) {
    const message = `this command needs the ${need} role; the token has ${role}`;
    return { reply: error("NOPERM", message), reason: "forbidden" };
  }
  return undefined;
}
