import { createServer, type Server } from "node:net";

const PORT_MAX = 65_535;

/** Listens on 127.0.0.1:`port` (0: any free port); resolves undefined when the port is taken. */
function hold(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function release(servers: readonly (Server | undefined)[]): Promise<void> {
  return Promise.all(
    servers.map((s) => (s === undefined ? undefined : new Promise<void>((r) => s.close(() => r())))),
  ).then(() => undefined);
}

/**
 * Each port of `wanted` that is within range and free on 127.0.0.1 now, and for each other one a port the
 * kernel picks (all held at once, so they differ). A port free now can be taken before the node binds
 * it: the node then exits with its bind error, which the console shows.
 */
export async function freePorts(wanted: readonly number[]): Promise<number[]> {
  const inRange = (p: number) => Number.isInteger(p) && p >= 1 && p <= PORT_MAX;
  const scheme = await Promise.all(wanted.map((p) => (inRange(p) ? hold(p) : undefined)));
  const held = await Promise.all(scheme.map((s) => s ?? hold(0)));
  const ports = held.map((s) => {
    const address = s?.address();
    return address === null || address === undefined || typeof address === "string" ? 0 : address.port;
  });
  await release(held);
  if (ports.includes(0)) throw new Error("no free port on 127.0.0.1");
  return ports;
}
