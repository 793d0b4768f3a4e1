/**
 * A registry on 127.0.0.1 that holds every image, for the CLI as real processes: the deploy's
 * registry preflight is answered on this machine (plain HTTP, because it is loopback) and never
 * reaches for the network. In-process runs get the same from the world's `fetch`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** `/v2/<name>/manifests/sha256:<hex>`: the one request the preflight makes of a public registry. */
const MANIFEST = /^\/v2\/.+\/manifests\/sha256:[0-9a-f]{64}$/;

export interface LocalRegistry {
  /** `127.0.0.1:<port>`: an image reference's host part. */
  host: string;
  /** Manifest lookups it answered. */
  lookups: string[];
  close(): Promise<void>;
}

export async function startRegistry(): Promise<LocalRegistry> {
  const lookups: string[] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? "";
    if (MANIFEST.test(path)) lookups.push(path);
    response.writeHead(MANIFEST.test(path) ? 200 : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    lookups,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
