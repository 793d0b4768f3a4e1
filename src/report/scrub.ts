/**
 * The one secret scrubber. Every byte that leaves the process (progress, the JSON report, the human
 * summary, the Markdown step summary, the Dagger error, notifications) passes through `scrub`, which
 * knows every secret value in play: those found in the environment at start, and those learned later
 * (a Dagger Secret's plaintext, credentials the AWS chain resolved, a registry password).
 *
 * A value is replaced in the forms it can take on the way out: as written, JSON-escaped (inside a
 * report) and URL-encoded (inside an echoed request line) — and so is any piece of it at least
 * `PIECE_LENGTH` characters long, because messages quote what others sent them cut to a length (the
 * first 40 bytes of an answer, the last lines of a log), and half a token is still a leak.
 */

/** Environment variables whose values are secrets wherever they appear. */
export const SECRET_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "SENTRY_AUTH_TOKEN",
  "GITHUB_TOKEN",
  "GH_TOKEN",
  "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
  "SHIPYARD_REGISTRY_PASSWORD",
] as const;

/** Variables that hold URLs whose user:password part is secret (the rest stays readable). */
export const SECRET_URL_VARIABLES = ["DATABASE_URL"] as const;

/** Shorter values would blank out ordinary words; real secrets are longer. */
const MIN_SECRET_LENGTH = 4;
/** A run of this many characters of a secret is masked wherever it appears (it is not chance). */
const PIECE_LENGTH = 12;
const MASK = "***";

export class Scrubber {
  private readonly values = new Set<string>();
  private sorted: string[] = [];

  /** Registers secret values; empty and very short ones are ignored. */
  add(...values: ReadonlyArray<string | null | undefined>): void {
    for (const raw of values) {
      const value = raw?.trim();
      if (!value || value.length < MIN_SECRET_LENGTH) continue;
      for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) {
        this.values.add(form);
      }
    }
    // Longest first, so a secret that contains another is masked whole.
    this.sorted = [...this.values].sort((a, b) => b.length - a.length);
  }

  /** Registers the credentials inside a URL (postgres://user:password@host/db). */
  addUrlCredentials(text: string | null | undefined): void {
    if (!text) return;
    const match = /^[a-z][a-z0-9+.-]*:\/\/([^/@\s]*)@/i.exec(text.trim());
    if (!match?.[1]) return;
    const [user, password] = match[1].split(":");
    this.add(password ? decodeURIComponent(password) : undefined, password, match[1]);
    if (password === undefined) this.add(user);
  }

  /** Registers every secret the process environment holds. */
  addFromEnvironment(env: NodeJS.ProcessEnv): void {
    for (const name of SECRET_VARIABLES) this.add(env[name]);
    for (const name of SECRET_URL_VARIABLES) this.addUrlCredentials(env[name]);
  }

  scrub(text: string): string {
    const masked: Array<[number, number]> = [];
    for (const secret of this.sorted) {
      for (const [from, to] of occurrences(text, secret)) masked.push([from, to]);
    }
    if (masked.length === 0) return text;
    masked.sort((a, b) => a[0] - b[0]);
    let out = "";
    let at = 0;
    for (const [from, to] of masked) {
      if (to <= at) continue;
      if (from >= at) out += text.slice(at, from) + MASK;
      at = to;
    }
    return out + text.slice(at);
  }

  /** A deep copy of a JSON value with every string scrubbed. */
  scrubValue<T>(value: T): T {
    return JSON.parse(this.scrub(JSON.stringify(value))) as T;
  }

  /** How many distinct secret forms are known (for tests and diagnostics; never the values). */
  get size(): number {
    return this.values.size;
  }
}

/**
 * Where `secret`, or a run of at least PIECE_LENGTH of its characters, appears in `text`, as
 * [from, to) ranges, each grown to the whole run of the secret's characters it belongs to.
 */
function occurrences(text: string, secret: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  if (secret.length < PIECE_LENGTH) {
    for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + secret.length)) {
      found.push([at, at + secret.length]);
    }
    return found;
  }
  for (let offset = 0; offset + PIECE_LENGTH <= secret.length; offset++) {
    const piece = secret.slice(offset, offset + PIECE_LENGTH);
    for (let at = text.indexOf(piece); at >= 0; at = text.indexOf(piece, at + 1)) {
      let from = at;
      let start = offset;
      while (from > 0 && start > 0 && text[from - 1] === secret[start - 1]) {
        from -= 1;
        start -= 1;
      }
      let to = at + PIECE_LENGTH;
      let end = offset + PIECE_LENGTH;
      while (to < text.length && end < secret.length && text[to] === secret[end]) {
        to += 1;
        end += 1;
      }
      found.push([from, to]);
    }
  }
  return found;
}
