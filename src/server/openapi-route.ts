// GET /v1/openapi.json: the API's OpenAPI 3.1 document (docs/openapi.json), served as shipped.
import { readFile } from "node:fs/promises";
import type { RequestContext } from "./context.js";
import type { RouteSpec } from "./routes.js";

/** From dist/src/server/ in the repository, the installed package and the container image alike. */
const DOCUMENT_URL = new URL("../../../docs/openapi.json", import.meta.url);

let document: Promise<Buffer> | undefined;

/** Read once, on first request: a node that nobody asks for the document never reads it. */
function openapiDocument(): Promise<Buffer> {
  document ??= readFile(DOCUMENT_URL).catch((err: unknown) => {
    // Not cached: a file restored under a running node serves on the next request.
    document = undefined;
    throw new Error(`cannot read the OpenAPI document ${DOCUMENT_URL.pathname}`, { cause: err });
  });
  return document;
}

export const openapiRoute: RouteSpec<RequestContext> = {
  method: "GET",
  path: "/v1/openapi.json",
  format: "json",
  async handle(ctx) {
    const body = await openapiDocument();
    ctx.sendRaw(200, { "Content-Type": "application/json", "Content-Length": body.length }, body);
  },
};
