import type { RequestContext, RouteSpec } from "../server/index.js";
import { assets } from "./assets.js";
import type { DashboardFeed } from "./feed.js";

/** The page may talk to any member (it follows another when its own dies) and to the console's control API. */
const PAGE_CSP =
  "default-src 'self'; connect-src *; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

function sendAsset(ctx: RequestContext, name: string): void {
  const asset = assets().get(name);
  if (asset === undefined) {
    ctx.sendRaw(404, { "Content-Type": "text/plain; charset=utf-8" }, "no such asset\n");
    return;
  }
  ctx.sendRaw(
    200,
    {
      "Content-Type": asset.contentType,
      "Content-Length": asset.body.length,
      "Cache-Control": name.endsWith(".html") ? "no-store" : "max-age=300",
      "Content-Security-Policy": PAGE_CSP,
      "X-Content-Type-Options": "nosniff",
    },
    asset.body,
  );
}

/** Read-only JSON the same as /v1/cluster's in kind: any member's page may read it. */
function sendOpenJson(ctx: RequestContext, value: object): void {
  ctx.res.setHeader("Access-Control-Allow-Origin", "*");
  ctx.send(200, value);
}

/** Rows for the server's route table: the page, its assets, its state, its stream and the peers' summary. */
export function dashboardRoutes(feed: DashboardFeed): readonly RouteSpec<RequestContext>[] {
  return [
    {
      method: "GET",
      path: "/dashboard",
      format: "text",
      async handle(ctx) {
        sendAsset(ctx, "index.html");
      },
    },
    {
      method: "GET",
      path: "/dashboard/assets/:name",
      format: "text",
      async handle(ctx, [name]) {
        sendAsset(ctx, name ?? "");
      },
    },
    {
      method: "GET",
      path: "/v1/dashboard",
      format: "json",
      crossOrigin: true,
      async handle(ctx) {
        feed.viewedWith(ctx.req.headers.authorization);
        sendOpenJson(ctx, await feed.snapshot());
      },
    },
    {
      method: "GET",
      path: "/v1/dashboard/summary",
      format: "json",
      crossOrigin: true,
      async handle(ctx) {
        const since = Number(ctx.url.searchParams.get("since") ?? "0");
        sendOpenJson(ctx, feed.summary(Number.isSafeInteger(since) && since >= 0 ? since : 0));
      },
    },
    {
      method: "GET",
      path: "/v1/dashboard/stream",
      format: "json",
      crossOrigin: true,
      async handle(ctx) {
        feed.viewedWith(ctx.req.headers.authorization);
        if (feed.sse.full) {
          ctx.res.setHeader("Retry-After", "5");
          ctx.res.setHeader("Access-Control-Allow-Origin", "*");
          ctx.send(503, {
            error: {
              code: "busy",
              message: `at most ${feed.sse.clientsMax} dashboards stream from one node`,
            },
          });
          return;
        }
        const init = await feed.snapshot();
        if (ctx.res.destroyed) return;
        if (!feed.sse.open(ctx.res, "init", init)) {
          ctx.send(503, { error: { code: "busy", message: "too many dashboards" } });
        }
      },
    },
  ];
}
