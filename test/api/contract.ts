// docs/openapi.json as a checker of real answers: finds the operation of a request, validates the answer's
// status, headers and body (and a request body) with ajv's JSON Schema 2020-12 draft, the dialect of
// OpenAPI 3.1, and records which documented (operation, status) pairs were seen.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

export const DOC_PATH = "docs/openapi.json";
const DOC_ID = "https://raftstack.invalid/openapi.json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** The keys of an OpenAPI document that are not JSON Schema keywords, for ajv's strict mode. */
const OPENAPI_KEYWORDS = ["openapi", "info", "servers", "tags", "paths", "components"];

function asObject(v: unknown, what: string): JsonObject {
  assert.ok(typeof v === "object" && v !== null && !Array.isArray(v), `${what} is not an object`);
  return v as JsonObject;
}

/**
 * `/v1/stacks/{id}/push` → a regex matching concrete paths. A parameter is any segment, unless the path
 * item itself declares it with a `pattern` (raftexample's `/{id}`: digits): the router enforces that one,
 * so another segment is no route.
 */
function templateRegex(template: string, item: JsonObject): RegExp {
  const patterns = new Map<string, string>();
  for (const p of (item["parameters"] ?? []) as JsonObject[]) {
    const pattern = (p["schema"] as JsonObject | undefined)?.["pattern"];
    if (p["in"] === "path" && typeof pattern === "string") {
      patterns.set(String(p["name"]), pattern.replace(/^\^/, "").replace(/\$$/, ""));
    }
  }
  const body = template
    .replaceAll(".", "\\.")
    .replace(/\{([a-z]+)\}/g, (_, name: string) => `(?:${patterns.get(name) ?? "[^/]+"})`);
  return new RegExp(`^${body}$`);
}

/**
 * A copy in which every object schema with `properties` and no `additionalProperties` allows no other
 * property: the published document tolerates new fields (older clients keep working), the test insists
 * that every field the server sends is documented.
 */
function closed(v: Json): Json {
  if (Array.isArray(v)) return v.map(closed);
  if (typeof v !== "object" || v === null) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) out[k] = closed(x);
  if (out["type"] === "object" && "properties" in out && !("additionalProperties" in out)) {
    out["additionalProperties"] = false;
  }
  return out;
}

/** The `$ref` of a reference object, if `v` is one. */
function refOf(v: unknown): string | undefined {
  const ref =
    typeof v === "object" && v !== null && !Array.isArray(v) ? (v as JsonObject)["$ref"] : undefined;
  return typeof ref === "string" ? ref : undefined;
}

function pointer(...parts: string[]): string {
  return `#/${parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`;
}

export class Contract {
  readonly doc: JsonObject;
  // strictTypes off: an error schema narrows `Error` by an allOf branch without `type` (plain JSON Schema).
  private readonly ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  /** `METHOD template status` of every answer checked. */
  readonly seen = new Set<string>();

  constructor(text = readFileSync(DOC_PATH, "utf8")) {
    this.doc = JSON.parse(text) as JsonObject;
    this.ajv.addVocabulary(OPENAPI_KEYWORDS);
    this.ajv.addSchema({ ...(closed(this.doc) as JsonObject), $id: DOC_ID });
  }

  get paths(): JsonObject {
    return asObject(this.doc["paths"], "paths");
  }

  /** Follows a `$ref` into the document (components), or returns the object itself. */
  deref(v: unknown, what: string): JsonObject {
    const o = asObject(v, what);
    const ref = o["$ref"];
    if (typeof ref !== "string") return o;
    assert.ok(ref.startsWith("#/"), `${what}: only local refs (${ref})`);
    let at: Json | undefined = this.doc;
    for (const part of ref.slice(2).split("/")) {
      at = asObject(at, ref)[part.replaceAll("~1", "/").replaceAll("~0", "~")];
    }
    assert.ok(at !== undefined, `${what}: ${ref} does not resolve`);
    return this.deref(at, ref);
  }

  /** The validator of the schema at this JSON pointer of the document. */
  validator(at: string): ValidateFunction {
    let v = this.validators.get(at);
    if (v === undefined) {
      v = this.ajv.getSchema(`${DOC_ID}${at}`);
      assert.ok(v !== undefined, `no schema at ${at}`);
      this.validators.set(at, v);
    }
    return v;
  }

  validate(at: string, value: unknown, what: string): void {
    const v = this.validator(at);
    assert.ok(
      v(value),
      `${what} does not match ${at}: ${this.ajv.errorsText(v.errors)}\n${JSON.stringify(value)}`,
    );
  }

  /** The documented path template that `path` (no query) falls under, if any. */
  template(path: string): string | undefined {
    const templates = Object.keys(this.paths);
    return (
      templates.find((t) => t === path) ??
      templates.find((t) => templateRegex(t, asObject(this.paths[t], t)).test(path))
    );
  }

  /** A request body the server accepted must match the operation's request schema. */
  checkRequest(method: string, path: string, contentType: string, body: string): void {
    const template = this.template(path);
    assert.ok(template !== undefined, `${path} is not documented`);
    const op = asObject(
      asObject(this.paths[template], template)[method.toLowerCase()],
      `${method} ${template}`,
    );
    const requestBody = this.deref(op["requestBody"], `${method} ${template} requestBody`);
    const content = asObject(requestBody["content"], "requestBody content");
    assert.ok(contentType in content, `${method} ${template} documents no request body of ${contentType}`);
    const at = pointer(
      "paths",
      template,
      method.toLowerCase(),
      "requestBody",
      "content",
      contentType,
      "schema",
    );
    this.validate(
      at,
      contentType === "application/json" ? JSON.parse(body) : body,
      `request ${method} ${path}`,
    );
  }

  /**
   * Checks an answer against the document: its status is documented for the operation (or it is the
   * documented 405 / unknown-route 404), every required header is there and matches, and the body
   * matches the documented content. Returns the `METHOD template status` it counted as seen.
   */
  checkAnswer(method: string, path: string, a: Answer): string {
    const what = `${method} ${path} → ${a.status} ${a.text.slice(0, 200)}`;
    const template = this.template(path);
    const item = template === undefined ? undefined : asObject(this.paths[template], template);
    const op = item?.[method.toLowerCase()];
    let response: JsonObject;
    let at: string;
    let seen: string;
    if (template === undefined || op === undefined) {
      // No such route, or no such method on it: the answers every path shares, in the path's format
      // (JSON under /v1/ and for the JSON routes, a line of text for the seed's and /metrics).
      assert.equal(a.status, template === undefined ? 404 : 405, what);
      const text = item === undefined ? !path.startsWith("/v1/") : this.isTextPath(item);
      const name = text ? "TextError" : template === undefined ? "NotFound" : "MethodNotAllowed";
      response = this.deref(asObject(this.doc["components"], "components")["responses"], "responses");
      response = this.deref(response[name], name);
      at = pointer("components", "responses", name);
      seen = `${method} ${template ?? "(unknown path)"} ${a.status}`;
    } else {
      const responses = asObject(asObject(op, what)["responses"], `${what} responses`);
      const documented = responses[String(a.status)];
      assert.ok(documented !== undefined, `${what}: status ${a.status} is not documented`);
      response = this.deref(documented, `${what} response`);
      at =
        refOf(documented) ?? pointer("paths", template, method.toLowerCase(), "responses", String(a.status));
      seen = `${method} ${template} ${a.status}`;
    }
    for (const [name, h] of Object.entries(asObject(response["headers"] ?? {}, "headers"))) {
      const header = this.deref(h, name);
      const value = a.headers.get(name);
      if (header["required"] === true) assert.ok(value !== null, `${what}: no ${name} header`);
      if (value === null) continue;
      const schema = asObject(header["schema"], `${name} schema`);
      const headerAt = refOf(h) ?? `${at}/headers/${name}`;
      const typed = schema["type"] === "integer" ? Number(value) : value;
      this.validate(`${headerAt}/schema`, typed, `${what} ${name}`);
    }
    const content = response["content"];
    if (content === undefined) {
      assert.equal(a.text, "", `${what}: a body where none is documented`);
    } else {
      const type = a.headers.get("content-type") ?? "";
      assert.ok(type in asObject(content, "content"), `${what}: Content-Type ${type} is not documented`);
      const body = type === "application/json" ? (JSON.parse(a.text) as unknown) : a.text;
      this.validate(`${at}/content/${type.replaceAll("/", "~1")}/schema`, body, what);
    }
    this.seen.add(seen);
    return seen;
  }

  /**
   * A path whose operations answer text (the seed's, /metrics, raftexample's /{id}): its errors are text
   * too. Told by the success's content, or by the 400's for a success without a body (204).
   */
  private isTextPath(item: JsonObject): boolean {
    return Object.entries(item).some(([method, op]) => {
      if (method === "parameters") return false;
      const responses = asObject(asObject(op, method)["responses"], "responses");
      const ok = this.deref(responses["200"] ?? responses["204"], "2xx");
      const told = ok["content"] === undefined ? this.deref(responses["400"], "400") : ok;
      return Object.keys(asObject(told["content"], "content")).some((t) => t.startsWith("text/plain"));
    });
  }

  /**
   * `METHOD template` of every operation documented ahead of the server (`x-raftstack-pending`: another
   * engineer's routes), by the work they wait for.
   */
  pending(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [template, item] of Object.entries(this.paths)) {
      for (const [method, op] of Object.entries(asObject(item, template))) {
        if (method === "parameters") continue;
        const group = asObject(op, method)["x-raftstack-pending"];
        if (typeof group !== "string") continue;
        out.set(group, [...(out.get(group) ?? []), `${method.toUpperCase()} ${template}`]);
      }
    }
    return out;
  }

  /** Every `METHOD template status` the document lists. */
  documented(): string[] {
    const out: string[] = [];
    for (const [template, item] of Object.entries(this.paths)) {
      for (const [method, op] of Object.entries(asObject(item, template))) {
        if (method === "parameters") continue;
        for (const status of Object.keys(asObject(asObject(op, method)["responses"], "responses"))) {
          out.push(`${method.toUpperCase()} ${template} ${status}`);
        }
      }
    }
    return out;
  }
}
