/**
 * The wire side of the ECS simulator: AWS JSON 1.1 over HTTP on 127.0.0.1 (POST /, header
 * `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>`), so the real @aws-sdk/client-ecs
 * is exercised end to end (serialisation, signing, retries, error parsing).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";

/** An error the handler throws to answer with an AWS error body. */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Who sent a call: the access key id of its SigV4 Authorization header (tests give each run its own). */
export type Handler = (
  operation: string,
  input: Record<string, unknown>,
  caller: string | undefined,
) => unknown | Promise<unknown>;

/** The access key id in `Authorization: AWS4-HMAC-SHA256 Credential=AKIA.../date/region/ecs/aws4_request, ...`. */
function callerOf(request: IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(String(request.headers.authorization ?? ""))?.[1];
}

export interface RunningServer {
  endpoint: string;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Dates travel as epoch seconds in JSON 1.1. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    );
  }
  return value;
}

function send(response: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": `sim-${Math.random().toString(16).slice(2)}`,
    ...(errorType ? { "x-amzn-errortype": errorType } : {}),
  });
  response.end(text);
}

export async function serve(handler: Handler): Promise<RunningServer> {
  const server: Server = createServer(async (request, response) => {
    try {
      const target = String(request.headers["x-amz-target"] ?? "");
      const body = await readBody(request);
      if (!target.startsWith(TARGET_PREFIX)) {
        send(response, 400, { __type: "UnknownOperationException", message: `bad target ${target}` });
        return;
      }
      const input = body.length > 0 ? (JSON.parse(body) as Record<string, unknown>) : {};
      const output = await handler(target.slice(TARGET_PREFIX.length), input, callerOf(request));
      send(response, 200, toWire(output ?? {}));
    } catch (error) {
      if (error instanceof AwsError) {
        send(response, error.status, { __type: error.type, message: error.message }, error.type);
      } else {
        send(response, 500, { __type: "ServerException", message: String(error) }, "ServerException");
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
