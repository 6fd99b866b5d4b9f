/**
 * Access roles of the client API (docs/security.md), ordered: each role may do what the ones below it
 * may. `read` reads, `write` also creates, pushes and pops, `admin` also deletes and runs operations.
 */
export const ROLES = ["read", "write", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Whether a holder of `have` may do what needs `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}
