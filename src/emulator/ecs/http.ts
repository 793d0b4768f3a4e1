/**
 * The wire side of the ECS simulator: AWS JSON 1.1 over HTTP on 127.0.0.1 (POST /, header
 * `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>`), so the real @aws-sdk/client-ecs
 * is exercised end to end (serialisation, signing, retries, error parsing). The same endpoint speaks
 * CloudWatch Logs (JSON 1.1, `Logs_20140328.<Operation>`) and Elastic Load Balancing v2 (the AWS
 * query protocol: a form-encoded `Action=...` answered with XML), so one AWS_ENDPOINT_URL serves all three.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const TARGET_PREFIXES = ["AmazonEC2ContainerServiceV20141113.", "Logs_20140328."];
const ELB_NAMESPACE = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

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

const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A value as query-protocol XML: lists as <member> elements, dates as ISO 8601. */
function toXml(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join("");
  if (typeof value === "object") {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join("");
  }
  return escapeXml(String(value));
}

/** `A=1&Names.member.1=x&Names.member.2=y` → { A: "1", Names: ["x", "y"] }. */
function parseQuery(body: string): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const list = /^(\w+)\.member\.(\d+)$/.exec(key);
    if (list) {
      const items = (input[list[1]!] as string[] | undefined) ?? [];
      items[Number(list[2]) - 1] = value;
      input[list[1]!] = items;
    } else {
      input[key] = value;
    }
  }
  return input;
}

function sendXml(response: ServerResponse, status: number, xml: string): void {
  response.writeHead(status, { "content-type": "text/xml", "content-length": Buffer.byteLength(xml) });
  response.end(xml);
}

/** One query-protocol call (ELBv2): the answer in <ActionResult>, errors in <ErrorResponse>. */
async function answerQuery(
  handler: Handler,
  request: IncomingMessage,
  response: ServerResponse,
  body: string,
) {
  const { Action: action, Version: _version, ...input } = parseQuery(body);
  const requestId = `sim-${Math.random().toString(16).slice(2)}`;
  try {
    const output = await handler(String(action), input, callerOf(request));
    sendXml(
      response,
      200,
      `<${action}Response xmlns="${ELB_NAMESPACE}"><${action}Result>${toXml(output)}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
    );
  } catch (error) {
    const type = error instanceof AwsError ? error.type : "InternalFailure";
    const status = error instanceof AwsError ? error.status : 500;
    sendXml(
      response,
      status,
      `<ErrorResponse xmlns="${ELB_NAMESPACE}"><Error><Type>${status >= 500 ? "Receiver" : "Sender"}</Type><Code>${type}</Code><Message>${escapeXml((error as Error).message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  }
}

export async function serve(handler: Handler): Promise<RunningServer> {
  const server: Server = createServer(async (request, response) => {
    try {
      const target = String(request.headers["x-amz-target"] ?? "");
      const body = await readBody(request);
      if (target === "" && body.startsWith("Action=")) {
        await answerQuery(handler, request, response, body);
        return;
      }
      const prefix = TARGET_PREFIXES.find((p) => target.startsWith(p));
      if (prefix === undefined) {
        send(response, 400, { __type: "UnknownOperationException", message: `bad target ${target}` });
        return;
      }
      const input = body.length > 0 ? (JSON.parse(body) as Record<string, unknown>) : {};
      const output = await handler(target.slice(prefix.length), input, callerOf(request));
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
