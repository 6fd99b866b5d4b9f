// The seed's text endpoints (raftexample's interface): POST or PUT, plain-text bodies, every node.
import type { Outcome } from "../stack/index.js";
import { type RequestContext, readResult } from "./context.js";
import { badRequest, stackError } from "./errors.js";
import { decodeText, parseId } from "./request.js";
import type { RouteSpec } from "./routes.js";

/** A success answer is the bare value, no newline: `curl` prints `1`. */
function outcomeText(o: Extract<Outcome, { ok: true }>): string {
  switch (o.kind) {
    case "created":
    case "deleted":
      return String(o.id);
    case "pushed":
      return String(o.size);
    case "popped":
      return o.item;
    default:
      // The seed's commands are create, push, pop and delete: no other outcome answers them.
      throw new Error(`seed endpoint got a ${o.kind} outcome`);
  }
}

async function idOf(ctx: RequestContext): Promise<number> {
  return parseId(decodeText(await ctx.body()));
}

/** A seed endpoint answers POST and PUT alike. */
function seed(path: string, handle: (ctx: RequestContext) => Promise<void>): RouteSpec<RequestContext>[] {
  return [
    { method: "POST", path, format: "text", handle },
    { method: "PUT", path, format: "text", handle },
  ];
}

export const seedRoutes: readonly RouteSpec<RequestContext>[] = [
  ...seed("/sCreate", async (ctx) => {
    const label = decodeText(await ctx.body());
    ctx.answer(await ctx.write({ type: "create", label }), outcomeText);
  }),
  ...seed("/sId", async (ctx) => {
    const label = decodeText(await ctx.body());
    const id = await ctx.read((m) => m.id(label));
    if (id === undefined) throw stackError("stack_not_found");
    ctx.send(200, String(id));
  }),
  ...seed("/sPush", async (ctx) => {
    const text = decodeText(await ctx.body());
    const comma = text.indexOf(",");
    if (comma < 0) throw badRequest("body must be <id>,<item>");
    const id = parseId(text.slice(0, comma));
    ctx.answer(await ctx.write({ type: "push", id, items: [text.slice(comma + 1)] }), outcomeText);
  }),
  ...seed("/sPop", async (ctx) => {
    const id = await idOf(ctx);
    ctx.answer(await ctx.write({ type: "pop", id }), outcomeText);
  }),
  ...seed("/sTop", async (ctx) => {
    const id = await idOf(ctx);
    ctx.send(200, readResult(await ctx.read((m) => m.top(id))).item);
  }),
  ...seed("/sSize", async (ctx) => {
    const id = await idOf(ctx);
    ctx.send(200, String(readResult(await ctx.read((m) => m.size(id))).size));
  }),
];
