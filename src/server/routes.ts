import type { Format } from "./response.js";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/**
 * One row of the route table: method and path pattern → handler, with the route's answer format.
 * A `:name` segment matches one non-empty path segment, a `#name` segment one of digits only (so
 * raftexample's `/#id` leaves every other single segment unmatched: 404, not 405), each handed to the
 * handler in order. (When
 * authentication lands, the role a route requires is one more field here, checked by the dispatcher.)
 */
export interface RouteSpec<Ctx> {
  readonly method: Method;
  readonly path: string;
  readonly format: Format;
  /**
   * A page served by another member may read this route with a token: the dispatcher answers CORS
   * preflights (OPTIONS) for its path. Only for read-only routes that already allow any origin.
   */
  readonly crossOrigin?: boolean;
  readonly handle: (ctx: Ctx, params: readonly string[]) => Promise<void>;
}

/** Every route of one path: its format (errors included, 405 too) and its handlers by method. */
export interface PathRoutes<Ctx> {
  readonly format: Format;
  readonly byMethod: ReadonlyMap<string, RouteSpec<Ctx>>;
  /** For the Allow header of a 405. */
  readonly methods: readonly Method[];
  /** Some route of this path is `crossOrigin`: preflights are answered. */
  readonly crossOrigin: boolean;
}

export interface RouteMatch<Ctx> {
  readonly routes: PathRoutes<Ctx>;
  readonly params: readonly string[];
}

const NO_PARAMS: readonly string[] = [];

/**
 * The route table compiled for lookup: literal paths (every seed route and most others) in a Map of
 * ready matches, so a hit is one hash lookup and no allocation; the few paths with parameters in one
 * regex of alternatives, so they cost one match however many there are.
 */
export class Router<Ctx> {
  private readonly exact = new Map<string, RouteMatch<Ctx>>();
  /** `^(?:(a)|(b)|...)$` with one group per parameter, alternatives in table order. */
  private readonly patterns: RegExp | undefined;
  /** For each parameterized path, in order: its routes and how many groups its alternative has. */
  private readonly patternRoutes: { readonly routes: PathRoutes<Ctx>; readonly groups: number }[] = [];

  constructor(table: readonly RouteSpec<Ctx>[]) {
    const byPath = new Map<string, RouteSpec<Ctx>[]>();
    for (const r of table) {
      if (!/^(\/([:#][a-z]+|[A-Za-z0-9_.-]+))+$/.test(r.path)) throw new Error(`bad route path ${r.path}`);
      byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
    }
    const alternatives: string[] = [];
    for (const [path, specs] of byPath) {
      const byMethod = new Map(specs.map((r) => [r.method, r] as const));
      const format = specs[0]!.format;
      if (byMethod.size !== specs.length) throw new Error(`route ${path} has a method twice`);
      if (specs.some((r) => r.format !== format)) throw new Error(`route ${path} mixes formats`);
      const crossOrigin = specs.some((r) => r.crossOrigin === true);
      const routes = { format, byMethod, methods: [...byMethod.keys()], crossOrigin };
      const groups = path.split(/\/[:#]/).length - 1;
      if (groups === 0) {
        this.exact.set(path, { routes, params: NO_PARAMS });
        continue;
      }
      // A parameter is one non-empty segment; a literal's only regex metacharacter is "." (checked above).
      alternatives.push(
        path
          .replaceAll(".", "\\.")
          .replace(/:[a-z]+/g, "([^/]+)")
          .replace(/#[a-z]+/g, "([0-9]+)"),
      );
      this.patternRoutes.push({ routes, groups });
    }
    this.patterns = alternatives.length === 0 ? undefined : new RegExp(`^(?:${alternatives.join("|")})$`);
  }

  match(path: string): RouteMatch<Ctx> | undefined {
    const exact = this.exact.get(path);
    if (exact !== undefined) return exact;
    const m = this.patterns?.exec(path);
    if (m == null) return undefined;
    // The alternative that matched is the one whose groups are set.
    let group = 1;
    for (const { routes, groups } of this.patternRoutes) {
      if (m[group] !== undefined) return { routes, params: m.slice(group, group + groups) as string[] };
      group += groups;
    }
    throw new Error(`route regex matched ${path} with no group`);
  }
}
