/**
 * Planted secrets and the places they must never reach. An endpoint that echoes a request's
 * headers in its error message is the classic way a credential ends up in a CI log: `echoingEcs`
 * puts one in front of the ECS simulator.
 */
import { createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";

/** One value of every kind Shipyard must keep out of its output. */
export const PLANTED = {
  AWS_ACCESS_KEY_ID: "AKIAPLANTEDKEY000042",
  AWS_SECRET_ACCESS_KEY: "plantedSecret/Key+With=Signs0123456789abc",
  AWS_SESSION_TOKEN: "IQoJb3JpZ2luX2VjEPlantedSessionToken/abcdefghijklmnop+qrstuvwxyz0123456789==",
  SENTRY_AUTH_TOKEN: "sntrys_plantedSentryToken_0123456789abcdefghij",
  DATABASE_URL: "postgres://app:Planted-Db-Pass-9876@db.internal:5432/app",
  SHIPYARD_REGISTRY_PASSWORD: "planted-registry-password-4321",
} as const;

/** The secret part of each planted value (a URL's password, not its host). */
export const SECRET_VALUES = [
  PLANTED.AWS_ACCESS_KEY_ID,
  PLANTED.AWS_SECRET_ACCESS_KEY,
  PLANTED.AWS_SESSION_TOKEN,
  PLANTED.SENTRY_AUTH_TOKEN,
  "Planted-Db-Pass-9876",
  PLANTED.SHIPYARD_REGISTRY_PASSWORD,
];

/** Every way a secret, or a telling piece of it (12 characters in a row), can show up in text. */
function fragments(secret: string): string[] {
  const forms = [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)];
  const pieces: string[] = [];
  for (const form of forms) {
    if (form.length <= 12) pieces.push(form);
    for (let at = 0; at + 12 <= form.length; at++) pieces.push(form.slice(at, at + 12));
  }
  return [...new Set(pieces)];
}

/** Fails naming the place and the piece found; passes quietly otherwise. */
export function expectNoSecrets(places: Record<string, string>, secrets: readonly string[] = SECRET_VALUES) {
  const found: string[] = [];
  for (const [place, text] of Object.entries(places)) {
    for (const secret of secrets) {
      const piece = fragments(secret).find((fragment) => text.includes(fragment));
      if (piece) found.push(`${place} contains "${piece}" (from a planted secret)`);
    }
  }
  expect(found).toEqual([]);
}

export interface EchoingEcs {
  endpoint: string;
  /** How many answers echoed the request's headers. */
  echoed: number;
  close(): Promise<void>;
}

/**
 * A proxy to the simulator that answers the calls `echo` picks with an AWS error (of the type it
 * returns) whose message repeats the request's headers, Authorization and X-Amz-Security-Token
 * included, as some misbehaving gateways do.
 */
export async function echoingEcs(
  target: string,
  echo: (operation: string, index: number) => string | null,
): Promise<EchoingEcs> {
  const counts = new Map<string, number>();
  const state = { echoed: 0 };
  const body = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const server = createServer(async (req, res) => {
    const payload = await body(req);
    const operation =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .at(-1) ?? "";
    const index = counts.get(operation) ?? 0;
    counts.set(operation, index + 1);
    const type = echo(operation, index);
    if (type !== null) {
      state.echoed += 1;
      const headers = Object.entries(req.headers)
        .map(([name, value]) => `${name}: ${String(value)}`)
        .join("; ");
      const text = JSON.stringify({ __type: type, message: `request rejected; we received ${headers}` });
      res.writeHead(400, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type });
      res.end(text);
      return;
    }
    const url = new URL(target);
    const forward = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      },
    );
    forward.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get echoed() {
      return state.echoed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
