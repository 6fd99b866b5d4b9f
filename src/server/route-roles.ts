import type { Role } from "../api/index.js";
import type { Method } from "./routes.js";

/**
 * The role each route needs when access control is on (docs/security.md), by `METHOD path` as in the
 * route table. `none`: probes an orchestrator calls without credentials, which reveal only liveness,
 * readiness and the leader's id, and the dashboard's static page. A route not listed needs admin, so a
 * new route is never open by omission (list it here with the role it deserves).
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
  "GET /v1/members": "read",
  "GET /v1/openapi.json": "read",
  "GET /dashboard": "none",
  "GET /dashboard/assets/:name": "none",
  "GET /v1/dashboard": "read",
  "GET /v1/dashboard/summary": "read",
  "GET /v1/dashboard/stream": "read",
};

/** The role a route needs: its entry in the table, else admin. */
export function routeRole(method: Method, path: string): Role | "none" {
  return ROUTE_ROLES[`${method} ${path}`] ?? "admin";
}
