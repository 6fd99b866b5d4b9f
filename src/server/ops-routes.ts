// Operational routes: health and readiness for orchestrators, metrics, the cluster view.
import type { RequestContext } from "./context.js";
import type { RouteSpec } from "./routes.js";

/** Why a node is not ready to serve, or undefined when it is (docs/api.md, /readyz). */
export function notReadyReason(
  leader: number,
  applied: number,
  commitAtStart: number,
  removed: boolean,
): string | undefined {
  // Ids are never reused: not "no leader known" (it knows none either), which reads as worth waiting for.
  if (removed)
    return "this node was removed from the cluster: it serves nothing any more; use another member";
  if (leader === 0) return "no leader known";
  if (applied < commitAtStart) return `applied ${applied} of the ${commitAtStart} entries committed at start`;
  return undefined;
}

/** The ops routes; `commitAtStart` is the commit index the node knew when its API was created. */
export function opsRoutes(commitAtStart: number): readonly RouteSpec<RequestContext>[] {
  return [
    {
      method: "GET",
      path: "/health",
      format: "json",
      async handle(ctx) {
        const s = ctx.service.status();
        const ok = s.leader !== 0;
        if (!ok) ctx.res.setHeader("Retry-After", "1");
        // A removed node knows no leader for good: say why, so an operator does not wait for one.
        const removed = s.removed === true ? { removed: true } : {};
        ctx.send(ok ? 200 : 503, { ok, leader: s.leader, role: s.role, term: s.term, ...removed });
      },
    },
    {
      method: "GET",
      path: "/livez",
      format: "json",
      // The process answers: that is all liveness means (restarting a node that has no leader would
      // not bring one back).
      async handle(ctx) {
        ctx.send(200, { live: true });
      },
    },
    {
      method: "GET",
      path: "/readyz",
      format: "json",
      async handle(ctx) {
        const { leader, applied, removed } = ctx.service.status();
        const reason = notReadyReason(leader, applied, commitAtStart, removed === true);
        const view = { leader, applied, commitAtStart };
        if (reason === undefined) {
          ctx.send(200, { ready: true, ...view });
          return;
        }
        ctx.res.setHeader("Retry-After", "1");
        // A removed node knows no leader for good: `removed`, as on /health, so nobody waits for one.
        ctx.send(503, { ready: false, reason, ...(removed === true ? { removed } : {}), ...view });
      },
    },
    {
      method: "GET",
      path: "/metrics",
      format: "text",
      async handle(ctx) {
        const text = await ctx.metricsText();
        ctx.sendRaw(200, { "Content-Type": ctx.service.metricsContentType }, text);
      },
    },
    {
      method: "GET",
      path: "/v1/cluster",
      format: "json",
      async handle(ctx) {
        // A follower answers the leader's view of the members, unless ?local=1 (docs/api.md).
        ctx.send(200, await ctx.service.clusterView(ctx.url.searchParams.get("local") === "1"));
      },
    },
  ];
}
