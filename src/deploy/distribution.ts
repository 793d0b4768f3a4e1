/**
 * The part of the OCI distribution API a deploy needs: "does this registry hold the manifest with
 * this digest?" — `HEAD /v2/<name>/manifests/<digest>`, accepting OCI and Docker manifests and
 * indexes, through the token flow registries use (a 401 with `WWW-Authenticate: Bearer realm=…,
 * service=…,scope=…` → GET a token from the realm, anonymously or with credentials → ask again) or
 * HTTP Basic when the registry asks for it and credentials are given.
 *
 * Every answer is classified, never thrown: present, missing (404), denied (401/403), unreachable
 * (network error, timeout, 5xx, 429) or unexpected. Tokens and credentials only ever travel in an
 * Authorization header and are handed to `onSecret` so whatever prints knows them.
 */

export type HttpFetch = (input: string, init?: RequestInit) => Promise<Response>;

/** One image by digest in one registry. */
export interface ImageReference {
  /** The registry as the reference names it (docker.io when it names none). */
  host: string;
  /** The repository inside the registry, e.g. acme/api (library/node on Docker Hub). */
  name: string;
  /** sha256:<hex> */
  digest: string;
}

/** Splits `host/name[:tag]@sha256:…` (the tag is ignored: the digest decides). */
export function parseImageReference(image: string): ImageReference {
  const at = image.indexOf("@");
  const repository = at < 0 ? image : image.slice(0, at);
  const digest = at < 0 ? "" : image.slice(at + 1);
  const slash = repository.indexOf("/");
  const first = slash < 0 ? "" : repository.slice(0, slash);
  const namesHost = first.includes(".") || first.includes(":") || first === "localhost";
  const host = namesHost ? first.toLowerCase() : "docker.io";
  let name = namesHost ? repository.slice(slash + 1) : repository;
  // A tag sits after the last path component: "acme/api:3f2c" → "acme/api".
  const lastSlash = name.lastIndexOf("/");
  const colon = name.indexOf(":", lastSlash + 1);
  if (colon >= 0) name = name.slice(0, colon);
  if (host === "docker.io" && !name.includes("/")) name = `library/${name}`;
  return { host, name, digest };
}

/** Plain HTTP only where a registry can only be this machine; everything else is HTTPS. */
export function registryBaseUrl(host: string): string {
  const hostname = host.replace(/:\d+$/, "");
  const loopback = hostname === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === "[::1]";
  if (host === "docker.io") return "https://registry-1.docker.io";
  return `${loopback ? "http" : "https"}://${host}`;
}

/** The manifest kinds an image may be pushed as: OCI or Docker, single-platform or multi-platform. */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface DistributionClient {
  fetch: HttpFetch;
  /** The time bound of one request (connect + answer). */
  requestSignal: (ms: number) => AbortSignal;
  timeoutMs: number;
  /** Ctrl-C: stops a request in flight. */
  signal?: AbortSignal;
  /** Learns every token and credential the lookup uses (for the scrubber). */
  onSecret?: (value: string) => void;
}

export type ManifestAnswer =
  | { kind: "present"; status: number }
  | { kind: "missing"; status: number }
  | { kind: "denied"; status: number; detail: string }
  | { kind: "unreachable"; detail: string }
  | { kind: "unexpected"; status: number; detail: string };

/** The manifest lookup, anonymously (`credentials` null) or as a user. */
export async function lookUpManifest(
  reference: ImageReference,
  credentials: RegistryCredentials | null,
  client: DistributionClient,
): Promise<ManifestAnswer> {
  const url = `${registryBaseUrl(reference.host)}/v2/${reference.name}/manifests/${reference.digest}`;
  const first = await request(url, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } }, client);
  if ("detail" in first) return first;
  if (first.response.status !== 401) return classify(first.response);
  const challenge = parseChallenge(first.response.headers.get("www-authenticate"));
  let authorization: string | null = null;
  if (challenge?.scheme === "bearer") {
    const token = await fetchToken(challenge.params, reference, credentials, client);
    if (typeof token !== "string") return token;
    authorization = `Bearer ${token}`;
  } else if (challenge?.scheme === "basic" && credentials) {
    authorization = `Basic ${basic(credentials, client)}`;
  }
  if (authorization === null) return denied(401, "the registry requires authentication");
  const second = await request(
    url,
    { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT, Authorization: authorization } },
    client,
  );
  return "detail" in second ? second : classify(second.response);
}

function classify(response: Response): ManifestAnswer {
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: "present", status };
  if (status === 404) return { kind: "missing", status };
  if (status === 401 || status === 403) return denied(status, `HTTP ${status}`);
  if (status >= 500 || status === 429) return { kind: "unreachable", detail: `HTTP ${status}` };
  return { kind: "unexpected", status, detail: `HTTP ${status}` };
}

function denied(status: number, detail: string): ManifestAnswer {
  return { kind: "denied", status, detail };
}

/** The realm's token for pulling this repository, or why there is none. */
async function fetchToken(
  params: Record<string, string>,
  reference: ImageReference,
  credentials: RegistryCredentials | null,
  client: DistributionClient,
): Promise<string | ManifestAnswer> {
  const realm = params.realm;
  if (!realm || !/^https?:\/\//.test(realm)) {
    return { kind: "unexpected", status: 401, detail: "the registry's Bearer challenge names no realm" };
  }
  const url = new URL(realm);
  if (params.service) url.searchParams.set("service", params.service);
  url.searchParams.set("scope", params.scope ?? `repository:${reference.name}:pull`);
  const headers: Record<string, string> = { Accept: "application/json" };
  // Credentials go only where they are safe in transit: HTTPS, or this machine.
  if (credentials && (url.protocol === "https:" || registryBaseUrl(url.host).startsWith("http:"))) {
    headers.Authorization = `Basic ${basic(credentials, client)}`;
  }
  const answer = await request(url.toString(), { method: "GET", headers }, client);
  if ("detail" in answer) return answer;
  const { response } = answer;
  if (response.status === 401 || response.status === 403) {
    return denied(response.status, `the token service ${url.host} answered HTTP ${response.status}`);
  }
  if (response.status >= 500 || response.status === 429) {
    return { kind: "unreachable", detail: `the token service ${url.host} answered HTTP ${response.status}` };
  }
  const body = (await response.json().catch(() => null)) as {
    token?: unknown;
    access_token?: unknown;
  } | null;
  const token = typeof body?.token === "string" ? body.token : body?.access_token;
  if (!response.ok || typeof token !== "string" || token === "") {
    return {
      kind: "unexpected",
      status: response.status,
      detail: `the token service ${url.host} answered HTTP ${response.status} without a token`,
    };
  }
  client.onSecret?.(token);
  return token;
}

function basic(credentials: RegistryCredentials, client: DistributionClient): string {
  const encoded = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
  client.onSecret?.(credentials.password);
  client.onSecret?.(encoded);
  return encoded;
}

type Sent = { response: Response } | { kind: "unreachable"; detail: string };

async function request(url: string, init: RequestInit, client: DistributionClient): Promise<Sent> {
  const signals = [client.requestSignal(client.timeoutMs), ...(client.signal ? [client.signal] : [])];
  try {
    const response = await client.fetch(url, {
      ...init,
      redirect: "follow",
      signal: AbortSignal.any(signals),
    });
    // Only the status and headers matter; let the connection go.
    if (init.method === "HEAD") await response.body?.cancel().catch(() => undefined);
    return { response };
  } catch (error) {
    return { kind: "unreachable", detail: unreachableDetail(error, client.timeoutMs) };
  }
}

function unreachableDetail(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** `Bearer realm="https://…",service="…",scope="repository:a/b:pull"` → scheme and parameters. */
export function parseChallenge(
  header: string | null,
): { scheme: string; params: Record<string, string> } | null {
  if (!header) return null;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return null;
  const params: Record<string, string> = {};
  for (const pair of match[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[pair[1]!.toLowerCase()] = (pair[2] ?? pair[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return { scheme: match[1]!.toLowerCase(), params };
}
