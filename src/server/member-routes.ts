// Membership on the client port (docs/membership.md): raftexample's `POST /{id}` and `DELETE /{id}`,
// and the JSON routes under /v1/members and /v1/leader.
import type { RequestContext } from "./context.js";
import { badRequest } from "./errors.js";
import { decodeText, parseJson } from "./request.js";
import type { RouteSpec } from "./routes.js";

/** A URL with an explicit port, as the member table stores it (`http://host:port`). */
function parseMemberUrl(s: string, what: string): string {
  try {
    const u = new URL(s.trim().replace(/\/+$/, ""));
    if (u.port === "" || (u.protocol !== "http:" && u.protocol !== "https:")) throw new Error("no port");
    return `${u.protocol}//${u.host}`;
  } catch {
    throw badRequest(`${what} must be a URL with an explicit port, got ${JSON.stringify(s.slice(0, 200))}`);
  }
}

/** A member id: 1..16 digits, a positive safe integer. */
function parseMemberId(s: string): number {
  const id = /^[0-9]{1,16}$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw badRequest(`member id must be a positive integer, got ${s}`);
  return id;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw badRequest(`"${name}" must be a string`);
  return v;
}

function optionalId(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== "number") throw badRequest(`"${name}" must be a positive integer`);
  return parseMemberId(String(v));
}

/** An empty body is `{}` (POST /v1/leader without a target). */
async function jsonBody(ctx: RequestContext): Promise<Record<string, unknown>> {
  const body = await ctx.body();
  return body.length === 0 ? {} : parseJson(body);
}

/**
 * Every change of the cluster is made by the leader (a follower forwards it); with `?redirect=1` a
 * follower answers 307 to the leader's client URL instead, as stack writes do.
 */
export const memberRoutes: readonly RouteSpec<RequestContext>[] = [
  {
    method: "POST",
    // `#id`: digits only, so any other single segment is no route (404), not this route's 405.
    path: "/#id",
    format: "text",
    // raftexample: `curl -L http://127.0.0.1:12380/4 -XPOST -d http://127.0.0.1:42379` adds node 4.
    async handle(ctx, [param]) {
      const id = parseMemberId(param ?? "");
      const peerUrl = parseMemberUrl(decodeText(await ctx.body()), "the body (the new member's peer URL)");
      if (ctx.redirected()) return;
      await ctx.service.addMember({ id, peerUrl });
      ctx.sendRaw(204, {}, "");
    },
  },
  {
    method: "DELETE",
    path: "/#id",
    format: "text",
    async handle(ctx, [param]) {
      const id = parseMemberId(param ?? "");
      if (ctx.redirected()) return;
      await ctx.service.removeMember(id);
      ctx.sendRaw(204, {}, "");
    },
  },
  {
    method: "GET",
    path: "/v1/members",
    format: "json",
    async handle(ctx) {
      // A read like any other (ReadIndex unless ?stale=1): a list asked for after an acknowledged
      // change shows it on every node, so a caller can decide on it (whether to resend an unknown
      // outcome; the console's next id).
      await ctx.read(() => undefined);
      ctx.send(200, ctx.service.members());
    },
  },
  {
    method: "POST",
    path: "/v1/members",
    format: "json",
    async handle(ctx) {
      const body = parseJson(await ctx.body());
      const peerUrl = optionalString(body, "peerUrl");
      if (peerUrl === undefined) throw badRequest('"peerUrl" is required');
      const clientUrl = optionalString(body, "clientUrl");
      const id = optionalId(body, "id");
      if (ctx.redirected()) return;
      const member = await ctx.service.addMember({
        peerUrl: parseMemberUrl(peerUrl, '"peerUrl"'),
        ...(clientUrl === undefined ? {} : { clientUrl: parseMemberUrl(clientUrl, '"clientUrl"') }),
        ...(id === undefined ? {} : { id }),
      });
      ctx.send(200, member);
    },
  },
  {
    method: "DELETE",
    path: "/v1/members/:id",
    format: "json",
    async handle(ctx, [param]) {
      const id = parseMemberId(param ?? "");
      if (ctx.redirected()) return;
      await ctx.service.removeMember(id);
      ctx.send(200, { id });
    },
  },
  {
    method: "POST",
    path: "/v1/leader",
    format: "json",
    async handle(ctx) {
      const id = optionalId(await jsonBody(ctx), "id");
      if (ctx.redirected()) return;
      ctx.send(200, { leader: await ctx.service.transferLeader(id) });
    },
  },
];
