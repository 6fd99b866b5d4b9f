// GET /v1/snapshot: a consistent backup of the cluster's state, streamed (`raftstack snapshot save`).
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { encodeBackup } from "../storage/index.js";
import type { RequestContext } from "./context.js";
import type { RouteSpec } from "./routes.js";

export const backupRoutes: readonly RouteSpec<RequestContext>[] = [
  {
    method: "GET",
    path: "/v1/snapshot",
    format: "json",
    // Taken on the leader only (a follower answers 503 no_leader naming the leader in X-Raft-Leader):
    // never proxied, as the proxy bounds relayed answers to a few items.
    async handle(ctx) {
      const snapshot = await ctx.service.backup();
      const backup = await encodeBackup(snapshot);
      ctx.res.writeHead(200, {
        "Content-Type": "application/octet-stream",
        "Content-Length": backup.totalBytes,
        "Content-Disposition": `attachment; filename="raftstack-${snapshot.meta.index}.backup"`,
        "X-Raft-Node": String(ctx.service.id),
        "X-Raft-Leader": String(ctx.service.leader()),
        "X-Raft-Snapshot-Index": String(snapshot.meta.index),
        "X-Backup-Sha256": backup.sha256,
      });
      // Backpressure from a slow reader pauses the parts; a client that leaves ends the pipeline.
      await pipeline(Readable.from(backup.parts, { objectMode: false }), ctx.res).catch(() =>
        ctx.res.destroy(),
      );
    },
  },
];
