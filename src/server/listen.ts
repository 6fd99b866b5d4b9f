import type { AddressInfo, Server } from "node:net";

/** Listens on `port` (0: any free one) and `host`; resolves with the bound port, rejects on a listen error. */
export async function listenOn(server: Server, port: number, host: string | undefined): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
