// The JSON API under /v1 (docs/api.md).
import type { StackMachine } from "../stack/index.js";
import { type RequestContext, readResult } from "./context.js";
import { badRequest, stackError } from "./errors.js";
import { parseId, parseJson, parseWaitMs, stringField } from "./request.js";
import type { RouteSpec } from "./routes.js";

type JsonRoute = RouteSpec<RequestContext> & { readonly format: "json" };

function stackInfo(m: StackMachine, id: number): { id: number; label: string; size: number } {
  const r = readResult(m.info(id));
  return { id: r.id, label: r.label, size: r.size };
}

function itemsOf(body: Record<string, unknown>): string[] {
  if (!("items" in body)) return [stringField(body, "item")];
  const v = body.items;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw badRequest('"items" must be an array of strings');
  }
  // The stack layer refuses an empty push too, but only as a generic "malformed request".
  if (v.length === 0) throw badRequest('"items" must hold at least one item');
  return v as string[];
}

export const jsonRoutes: readonly JsonRoute[] = [
  {
    method: "GET",
    path: "/v1/stacks",
    format: "json",
    async handle(ctx) {
      const label = ctx.url.searchParams.get("label");
      if (label === null) {
        ctx.send(200, { stacks: await ctx.read((m) => m.list()) });
        return;
      }
      const info = await ctx.read((m) => {
        const id = m.id(label);
        if (id === undefined) throw stackError("stack_not_found");
        return stackInfo(m, id);
      });
      ctx.send(200, info);
    },
  },
  {
    method: "POST",
    path: "/v1/stacks",
    format: "json",
    async handle(ctx) {
      const label = stringField(parseJson(await ctx.body()), "label");
      ctx.answer(await ctx.write({ type: "create", label }), (o) => ({
        id: o.kind === "created" ? o.id : 0,
        label,
      }));
    },
  },
  {
    method: "GET",
    path: "/v1/stacks/:id",
    format: "json",
    async handle(ctx, [param]) {
      const id = parseId(param ?? "");
      ctx.send(200, await ctx.read((m) => stackInfo(m, id)));
    },
  },
  {
    method: "DELETE",
    path: "/v1/stacks/:id",
    format: "json",
    async handle(ctx, [param]) {
      const id = parseId(param ?? "");
      ctx.answer(await ctx.write({ type: "delete", id }), () => ({ id }));
    },
  },
  {
    method: "POST",
    path: "/v1/stacks/:id/push",
    format: "json",
    async handle(ctx, [param]) {
      const id = parseId(param ?? "");
      const items = itemsOf(parseJson(await ctx.body()));
      ctx.answer(await ctx.write({ type: "push", id, items }), (o) => ({
        size: o.kind === "pushed" ? o.size : 0,
      }));
    },
  },
  {
    method: "POST",
    path: "/v1/stacks/:id/pop",
    format: "json",
    async handle(ctx, [param]) {
      const id = parseId(param ?? "");
      // Any body is ignored, but it is still read within the limit.
      await ctx.body();
      const wait = ctx.url.searchParams.get("wait");
      const outcome =
        wait === null ? await ctx.write({ type: "pop", id }) : await ctx.waitPop(id, parseWaitMs(wait));
      ctx.answer(outcome, (o) => ({ item: o.kind === "popped" ? o.item : "" }));
    },
  },
  {
    method: "GET",
    path: "/v1/stacks/:id/top",
    format: "json",
    async handle(ctx, [param]) {
      const id = parseId(param ?? "");
      ctx.send(200, { item: readResult(await ctx.read((m) => m.top(id))).item });
    },
  },
  {
    method: "GET",
    path: "/v1/stacks/:id/size",
    format: "json",
    async handle(ctx, [param]) {
      const id = parseId(param ?? "");
      ctx.send(200, { size: readResult(await ctx.read((m) => m.size(id))).size });
    },
  },
];
