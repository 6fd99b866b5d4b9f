import { readdirSync, readFileSync } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";

/** The page's files and uPlot, copied beside this module at build time (scripts/copy-assets.js). */
const ASSETS_DIR = fileURLToPath(new URL("./assets/", import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

let cache: ReadonlyMap<string, Asset> | undefined;

/**
 * Every asset by file name, read once: a few hundred kilobytes, served from memory with no network
 * access (no CDN). Names come from the directory listing, so a request can name nothing else.
 */
export function assets(): ReadonlyMap<string, Asset> {
  if (cache === undefined) {
    const found = new Map<string, Asset>();
    for (const name of readdirSync(ASSETS_DIR)) {
      const contentType = CONTENT_TYPES[extname(name)];
      if (contentType !== undefined) found.set(name, { contentType, body: readFileSync(ASSETS_DIR + name) });
    }
    cache = found;
  }
  return cache;
}

/** One asset's text (the simulator inlines uPlot and the trace viewer into its self-contained page). */
export function assetText(name: string): string {
  const asset = assets().get(name);
  if (asset === undefined) throw new Error(`no dashboard asset ${name} in ${ASSETS_DIR} (run npm run build)`);
  return asset.body.toString("utf8");
}
