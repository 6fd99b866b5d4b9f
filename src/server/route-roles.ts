import type { Role } from "../api/index.js";
import type { Method } from "./routes.js";

/**
 * The role each route needs when access control is on (docs/security.md), by `METHOD path` as in the
 * route table. `none`: probes an orchestrator calls without credentials, which reveal only liveness,
 * readiness and the leader's id. Every route must be listed: HttpApi refuses to start otherwise, so a new
 * route cannot be open by omission.
 */
const ROUTE_ROLES: Readonly<Record<string, Role | "none">> = {
  "POST /sCreate": "write",
  "PUT /sCreate": "write",
  "POST /sId": "read",
  "PUT /sId": "read",
  "POST /sPush": "write",
  "PUT /sPush": "write",
  "POST /sPop": "write",
  "PUT /sPop": "write",
  "POST /sTop": "read",
  "PUT /sTop": "read",
  "POST /sSize": "read",
  "PUT /sSize": "read",
  "GET /v1/stacks": "read",
  "POST /v1/stacks": "write",
  "GET /v1/stacks/:id": "read",
  "DELETE /v1/stacks/:id": "admin",
  "POST /v1/stacks/:id/push": "write",
  "POST /v1/stacks/:id/pop": "write",
  "GET /v1/stacks/:id/top": "read",
  "GET /v1/stacks/:id/size": "read",
  "GET /health": "none",
  "GET /livez": "none",
  "GET /readyz": "none",
  "GET /metrics": "read",
  "GET /v1/cluster": "read",
};

/** The role a route needs; throws for a route missing from the table (a programming error). */
export function routeRole(method: Method, path: string): Role | "none" {
  const role = ROUTE_ROLES[`${method} ${path}`];
  if (role === undefined) throw new Error(`route ${method} ${path} has no role in route-roles.ts`);
  return role;
}
