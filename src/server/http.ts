import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TlsOptions } from "node:tls";
import type { Logger } from "pino";
import type { Role } from "../api/index.js";
import { type AccessControl, authorize } from "./auth.js";
import { backupRoutes } from "./backup-routes.js";
import { BlockingPops } from "./blocking.js";
import { RequestContext, type ServerParts } from "./context.js";
import { ApiError } from "./errors.js";
import { ClientGuard, type ClientLimits, defaultClientLimits } from "./guard.js";
import { jsonRoutes } from "./json-routes.js";
import { assertBodyFits, BODY_BYTES_MAX_DEFAULT } from "./limits.js";
import { listenOn } from "./listen.js";
import { memberRoutes } from "./member-routes.js";
import { openapiRoute } from "./openapi-route.js";
import { opsRoutes } from "./ops-routes.js";
import { requestUrl } from "./request.js";
import { ResponseWriter } from "./response.js";
import { routeRole } from "./route-roles.js";
import { type Method, Router, type RouteSpec } from "./routes.js";
import { seedRoutes } from "./seed-routes.js";
import type { NodeService } from "./service.js";

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly requestTimeoutMs: number;
  readonly bodyBytesMax?: number;
  readonly logger: Logger;
  /** More rows for the route table (the dashboard's), after the API's own. */
  readonly routes?: readonly RouteSpec<RequestContext>[];
  /** Told of every answer: the route that served it (undefined: none matched) and its status. */
  readonly onRequest?: (route: RouteSpec<RequestContext> | undefined, status: number) => void;
  /** Bearer tokens and roles (--auth-token-file); every request passes without. */
  readonly access?: AccessControl;
  /** Serve HTTPS with these (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth). */
  readonly tls?: TlsOptions;
  readonly limits?: Partial<ClientLimits>;
}

/** Every route of the client port in one table; docs/openapi.json documents each (test/api checks). */
export function apiRoutes(commitAtStart: number): readonly RouteSpec<RequestContext>[] {
  return [
    ...seedRoutes,
    ...jsonRoutes,
    ...opsRoutes(commitAtStart),
    ...memberRoutes,
    ...backupRoutes,
    openapiRoute,
  ];
}

/**
 * The client HTTP API (docs/api.md): the seed's text endpoints, the JSON API and the ops routes, in
 * one route table. Writes are validated here, then run on the leader through the service (forwarded
 * over the peer connection from a follower, or redirected with `?redirect=1`). Reads are linearizable
 * unless `?stale=1`.
 * Create it when the node has opened its storage and before it starts: /readyz waits for the commit
 * index known then.
 */
export class HttpApi {
  readonly server: Server;
  /** Connection, header-time and concurrency limits with their refusal counters (the RESP listener shares it). */
  readonly guard: ClientGuard;
  private readonly parts: ServerParts;
  private readonly router: Router<RequestContext>;
  private readonly roles = new Map<RouteSpec<RequestContext>, Role | "none">();

  constructor(
    service: NodeService,
    private readonly opts: HttpServerOptions,
  ) {
    const bodyBytesMax = opts.bodyBytesMax ?? BODY_BYTES_MAX_DEFAULT;
    assertBodyFits(bodyBytesMax);
    const responses = new ResponseWriter(service.id, () => service.leader(), opts.logger);
    this.guard = new ClientGuard({ ...defaultClientLimits, ...opts.limits }, opts.logger);
    this.parts = { service, responses, blocking: new BlockingPops(service), bodyBytesMax, guard: this.guard };
    const table = [...apiRoutes(service.status().commit), ...(opts.routes ?? [])];
    for (const r of table) this.roles.set(r, routeRole(r.method, r.path));
    this.router = new Router(table);
    const onRequest = opts.onRequest;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      if (!this.guard.enter()) {
        responses.fail(res, req, "text", new ApiError("overloaded", "too many requests in flight; retry"));
        return;
      }
      res.once("close", () => this.guard.leave());
      this.dispatch(req, res).then(
        (route) => onRequest?.(route, res.statusCode),
        (err) => responses.fail(res, req, "text", err),
      );
    };
    // Header time is checked every second (Node's default is every 30 s, which let a slow client
    // hold a connection for up to headersTimeout + 30 s).
    const serverOptions = {
      headersTimeout: this.guard.limits.headersTimeoutMs,
      requestTimeout: 30_000,
      connectionsCheckingInterval: 1000,
    };
    // With TLS the headers' time starts only after the handshake, whose own default is 120 s: bounded
    // like the headers (a timed-out handshake reaches the guard's clientError answer, which closes it).
    this.server =
      opts.tls === undefined
        ? createServer(serverOptions, handler)
        : createHttpsServer(
            { ...serverOptions, handshakeTimeout: this.guard.limits.headersTimeoutMs, ...opts.tls },
            handler,
          );
    this.server.keepAliveTimeout = 5000;
    this.guard.limitConnections(this.server, "http", opts.tls !== undefined);
    this.server.on("clientError", (err, socket) => this.guard.onClientError(err, socket));
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.opts.port, this.opts.host);
  }

  async close(): Promise<void> {
    // Waiting pops answer now (nothing popped), so their requests finish before connections are cut.
    this.parts.blocking.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Requests still in flight get a moment to finish; then their connections are cut.
    const timer = setTimeout(() => this.server.closeAllConnections(), 200);
    await closed;
    clearTimeout(timer);
  }

  /** Serves one request; resolves with the route that answered it (undefined: no route matched). */
  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<RouteSpec<RequestContext> | undefined> {
    const { responses } = this.parts;
    const url = requestUrl(req.url ?? "/");
    const found = this.router.match(url.pathname);
    if (found === undefined) {
      const format = url.pathname.startsWith("/v1/") ? "json" : "text";
      responses.fail(res, req, format, new ApiError("not_found", `no route ${url.pathname}`));
      return undefined;
    }
    const { routes, params } = found;
    if (req.method === "OPTIONS" && routes.crossOrigin) {
      answerPreflight(res, routes.methods);
      return undefined;
    }
    const route = routes.byMethod.get(req.method ?? "GET");
    if (route === undefined) {
      res.setHeader("Allow", routes.methods.join(", "));
      const err = new ApiError("method_not_allowed", `use ${routes.methods.join(" or ")}`);
      responses.fail(res, req, routes.format, err);
      return undefined;
    }
    try {
      authorize(this.opts.access, req, this.roles.get(route) ?? "admin", (reason) =>
        this.guard.count("http", reason),
      );
      await route.handle(new RequestContext(this.parts, req, res, url), params);
    } catch (err) {
      responses.fail(res, req, routes.format, err);
    }
    return route;
  }
}

/** A CORS preflight: any origin may send these methods with an Authorization header. */
function answerPreflight(res: ServerResponse, methods: readonly Method[]): void {
  res.writeHead(204, {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": methods.join(", "),
    "Access-Control-Allow-Headers": "Authorization",
    "Access-Control-Max-Age": "600",
  });
  res.end();
}
