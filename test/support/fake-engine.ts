/**
 * A fake Dagger engine: the session endpoint the real @dagger.io/dagger SDK talks to (POST /query with
 * Basic auth, as with DAGGER_SESSION_PORT/DAGGER_SESSION_TOKEN), recording every GraphQL query and
 * answering by the query's SHAPE — the chain of fields down to its leaf — never by arrival order,
 * because the SDK resolves object arguments (Directory, Secret, CacheVolume, Service) with separate,
 * concurrent `{ ... { id } }` queries.
 *
 * IDs are minted per distinct chain and remembered, so `node(id:)` queries and ID arguments can be
 * expanded back into the chain that produced them: tests assert on whole container graphs.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { connection } from "@dagger.io/dagger";
import { type FieldNode, Kind, parse, type SelectionSetNode, type ValueNode } from "graphql";

export type ArgValue = string | number | boolean | null | ArgValue[] | { [key: string]: ArgValue };

/** One field of a query chain, e.g. `withExec(args: ["pnpm", "test"])`. */
export interface Call {
  field: string;
  args: Record<string, ArgValue>;
}
export type Chain = readonly Call[];

export interface RecordedQuery {
  /** The GraphQL text exactly as the SDK sent it. */
  text: string;
  /** The chain down to the leaf, with any `node(id:)` prefix replaced by the chain that minted the id. */
  chain: Chain;
}

export interface ExecFailure {
  cmd: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * What a responder returns: a leaf value, or a failed exec the SDK turns into an ExecError. `list`
 * answers a field that is a list of objects (e.g. `inputArgs { id }`): one object per element, each
 * holding the selected leaf.
 */
export type Answer =
  | { value: ArgValue }
  | { list: ArgValue[] }
  | { execError: ExecFailure }
  | { error: string };
export type Responder = (chain: Chain, engine: FakeEngine) => Answer | undefined;

export interface FakeEngineOptions {
  /** Plaintext the engine would resolve for `secret(uri:)` secrets, by URI (answers `plaintext` leaves). */
  secrets?: Record<string, string>;
  /** Tried in order before the default answers. */
  responders?: Responder[];
}

const ID_PREFIX = "fake-id:";

export class FakeEngine {
  readonly token = `fake-token-${process.pid}-${Date.now()}`;
  readonly queries: RecordedQuery[] = [];
  /** Requests refused because their Authorization header was wrong. */
  readonly unauthorized: string[] = [];
  private readonly idToChain = new Map<string, Chain>();
  private readonly chainToId = new Map<string, string>();
  private readonly responders: Responder[];
  private readonly secrets: Record<string, string>;
  private server = createServer((request, response) => void this.handle(request, response));
  port = 0;

  constructor(options: FakeEngineOptions = {}) {
    this.responders = [...(options.responders ?? [])];
    this.secrets = { ...(options.secrets ?? {}) };
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Adds a responder that wins over the ones given at construction. */
  respond(responder: Responder): void {
    this.responders.unshift(responder);
  }

  /** The chain an id stands for (throws on an id this engine never minted). */
  chainOf(id: string): Chain {
    const chain = this.idToChain.get(id);
    if (!chain) throw new Error(`fake engine: unknown id ${id}`);
    return chain;
  }

  /** The id this engine gives the object `chain` stands for, as if the SDK had asked for its `id`. */
  idFor(chain: Chain): string {
    return this.mintId(chain);
  }

  isId(value: ArgValue): value is string {
    return typeof value === "string" && value.startsWith(ID_PREFIX);
  }

  /** Recorded chains whose leaf is `leaf` (e.g. "sync", "publish"). */
  chainsEndingWith(leaf: string): Chain[] {
    return this.queries.map((q) => q.chain).filter((chain) => chain.at(-1)?.field === leaf);
  }

  /**
   * A readable, fully expanded rendering of a chain: ID arguments are replaced by `<chain>` of the
   * object they stand for, e.g. `withMountedCache(path: "/pnpm/store", cache: <cacheVolume(key: "x")>)`.
   */
  render(chain: Chain): string {
    return chain.map((call) => this.renderCall(call)).join(".");
  }

  private renderCall(call: Call): string {
    const args = Object.entries(call.args).map(([name, value]) => `${name}: ${this.renderValue(value)}`);
    return args.length === 0 ? call.field : `${call.field}(${args.join(", ")})`;
  }

  private renderValue(value: ArgValue): string {
    if (this.isId(value)) return `<${this.render(this.chainOf(value))}>`;
    if (Array.isArray(value)) return `[${value.map((v) => this.renderValue(v)).join(", ")}]`;
    if (value !== null && typeof value === "object") {
      return `{${Object.entries(value)
        .map(([k, v]) => `${k}: ${this.renderValue(v)}`)
        .join(", ")}}`;
    }
    return JSON.stringify(value);
  }

  private mintId(chain: Chain): string {
    const key = JSON.stringify(chain);
    let id = this.chainToId.get(key);
    if (!id) {
      id = `${ID_PREFIX}${this.chainToId.size + 1}`;
      this.chainToId.set(key, id);
      this.idToChain.set(id, chain);
    }
    return id;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const expected = `Basic ${Buffer.from(`${this.token}:`).toString("base64")}`;
    const body = await readBody(request);
    if (request.method !== "POST" || request.url !== "/query") {
      return send(response, 404, {
        errors: [{ message: `fake engine: no route ${request.method} ${request.url}` }],
      });
    }
    if (request.headers.authorization !== expected) {
      this.unauthorized.push(String(request.headers.authorization));
      return send(response, 401, { errors: [{ message: "fake engine: bad session token" }] });
    }
    const { query } = JSON.parse(body) as { query: string };
    try {
      const { chain, path } = this.parseChain(query);
      this.queries.push({ text: query, chain });
      const answer = this.answer(chain);
      if ("value" in answer) return send(response, 200, { data: nest(path, answer.value) });
      if ("list" in answer) {
        const leaf = path.at(-1)!;
        const items = answer.list.map((item) => ({ [leaf]: item }));
        return send(response, 200, { data: nest(path.slice(0, -1), items) });
      }
      if ("error" in answer) return send(response, 200, { data: null, errors: [{ message: answer.error }] });
      const { cmd, exitCode, stdout, stderr } = answer.execError;
      const message = `process "${cmd.join(" ")}" did not complete successfully: exit code: ${exitCode}`;
      return send(response, 200, {
        data: null,
        errors: [{ message, path, extensions: { _type: "EXEC_ERROR", cmd, exitCode, stdout, stderr } }],
      });
    } catch (error) {
      return send(response, 200, {
        data: null,
        errors: [{ message: `fake engine: ${(error as Error).message}` }],
      });
    }
  }

  /** `{ a { b(x: 1) { ... on T { c } } } }` → chain [a, b(x:1), c] and the response path [a, b, c]. */
  private parseChain(query: string): { chain: Call[]; path: string[] } {
    const document = parse(query);
    const operation = document.definitions[0];
    if (!operation || operation.kind !== Kind.OPERATION_DEFINITION)
      throw new Error("expected one query operation");
    const chain: Call[] = [];
    const path: string[] = [];
    let selections: SelectionSetNode | undefined = operation.selectionSet;
    while (selections) {
      const field = singleField(selections);
      const args = Object.fromEntries(
        (field.arguments ?? []).map((arg) => [arg.name.value, toValue(arg.value)]),
      );
      path.push(field.alias?.value ?? field.name.value);
      if (field.name.value === "node" && typeof args["id"] === "string") {
        chain.push(...this.chainOf(args["id"]));
      } else {
        chain.push({ field: field.name.value, args });
      }
      selections = field.selectionSet;
    }
    return { chain, path };
  }

  private answer(chain: Chain): Answer {
    for (const responder of this.responders) {
      const answer = responder(chain, this);
      if (answer) return answer;
    }
    return this.defaultAnswer(chain);
  }

  private defaultAnswer(chain: Chain): Answer {
    const leaf = chain.at(-1)!;
    const parent = chain.slice(0, -1);
    switch (leaf.field) {
      case "id":
      case "sync":
        return { value: this.mintId(parent) };
      case "exitCode":
        return { value: 0 };
      case "stdout":
      case "stderr":
      case "combinedOutput":
        return { value: "" };
      case "publish":
        return { value: `${String(leaf.args["address"])}@sha256:${digestOf(this.render(parent))}` };
      case "plaintext": {
        const uri = parent.at(-1)?.args["uri"];
        const secret = typeof uri === "string" ? this.secrets[uri] : undefined;
        return secret === undefined
          ? { error: `fake engine: no secret for ${String(uri)}` }
          : { value: secret };
      }
      case "exists":
      case "contents":
      case "entries":
        return this.hostFileAnswer(parent, leaf);
      default:
        return { error: `no answer for ${this.render(chain)}` };
    }
  }

  /** Answers file reads on `host.directory(path)...` from the real filesystem (the tests' fixtures). */
  private hostFileAnswer(parent: Chain, leaf: Call): Answer {
    const path = hostPath(parent);
    if (path === undefined)
      return { error: `cannot read ${this.render([...parent, leaf])} outside a host directory` };
    if (leaf.field === "exists") return { value: existsSync(join(path, String(leaf.args["path"]))) };
    if (leaf.field === "entries") return { value: readdirSync(path).sort() };
    if (!existsSync(path) || !statSync(path).isFile()) return { error: `${path}: no such file or directory` };
    return { value: readFileSync(path, "utf8") };
  }
}

/** host.directory(/x).directory(y).file(z) → /x/y/z; undefined for anything not rooted on the host. */
function hostPath(chain: Chain): string | undefined {
  const [host, root, ...rest] = chain;
  if (host?.field !== "host" || root?.field !== "directory") return undefined;
  let path = String(root.args["path"]);
  for (const call of rest) {
    if (call.field !== "directory" && call.field !== "file") return undefined;
    path = join(path, String(call.args["path"]));
  }
  return path;
}

function singleField(selections: SelectionSetNode): FieldNode {
  const [selection] = selections.selections;
  if (selections.selections.length !== 1 || !selection) {
    throw new Error("every level of a Dagger query selects exactly one field");
  }
  if (selection.kind === Kind.INLINE_FRAGMENT) return singleField(selection.selectionSet);
  if (selection.kind !== Kind.FIELD) throw new Error(`unexpected ${selection.kind}`);
  return selection;
}

function toValue(node: ValueNode): ArgValue {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.BOOLEAN:
      return node.value;
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map(toValue);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((field) => [field.name.value, toValue(field.value)]));
    default:
      throw new Error(`unsupported argument kind ${node.kind}`);
  }
}

function nest(path: readonly string[], leaf: ArgValue): ArgValue {
  return path.reduceRight<ArgValue>((inner, key) => ({ [key]: inner }), leaf);
}

function digestOf(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/**
 * Starts a fake engine, points the SDK at it through the session variables and runs `work` inside
 * `connection()`, exactly as module code runs inside the engine. The engine is closed afterwards.
 */
export async function withFakeEngine(
  options: FakeEngineOptions,
  work: (engine: FakeEngine) => Promise<void>,
): Promise<FakeEngine> {
  const engine = new FakeEngine(options);
  await engine.start();
  const saved = {
    port: process.env["DAGGER_SESSION_PORT"],
    token: process.env["DAGGER_SESSION_TOKEN"],
    bin: process.env["_EXPERIMENTAL_DAGGER_CLI_BIN"],
  };
  process.env["DAGGER_SESSION_PORT"] = String(engine.port);
  process.env["DAGGER_SESSION_TOKEN"] = engine.token;
  // Should the session variables ever be lost, fail fast instead of downloading a CLI from dl.dagger.io.
  process.env["_EXPERIMENTAL_DAGGER_CLI_BIN"] = "/bin/false";
  try {
    await connection(() => work(engine));
  } finally {
    restore("DAGGER_SESSION_PORT", saved.port);
    restore("DAGGER_SESSION_TOKEN", saved.token);
    restore("_EXPERIMENTAL_DAGGER_CLI_BIN", saved.bin);
    await engine.close();
  }
  return engine;
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
