/**
 * The HTTP routes. Kept apart from the process (server.ts) so tests can serve them on any port
 * against their own database.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Pool } from "pg";
import { HttpError, readJsonBody, sendJson } from "./http.js";
import { errorFields, type Log } from "./log.js";
import { createNote, findNote, listNotes, parseNewNote, parseNoteId } from "./notes.js";

export interface AppOptions {
  db: Pool;
  release: string;
  log: Log;
  /** True once SIGTERM arrived: every answer then closes its connection. */
  isDraining: () => boolean;
}

const BODY_LIMIT_BYTES = 64 * 1024;

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>;

interface Route {
  path: RegExp;
  methods: Partial<Record<string, Handler>>;
}

export function createApp(options: AppOptions): RequestListener {
  const { db, release, log, isDraining } = options;
  // Decided when the answer is written, not when the request arrived: a request in flight at SIGTERM
  // must close its connection too, or the idle keep-alive socket holds the drain open until it times out.
  const reply: typeof sendJson = (res, status, body, headers = {}) =>
    sendJson(res, status, body, isDraining() ? { ...headers, connection: "close" } : headers);

  const routes: Route[] = [
    {
      path: /^\/health$/,
      methods: {
        GET: async (_req, res) => {
          try {
            await db.query("SELECT 1");
            reply(res, 200, { status: "ok" });
          } catch (error) {
            log("warn", "health check: database unreachable", errorFields(error));
            reply(res, 503, { status: "unavailable", reason: "the database does not answer" });
          }
        },
      },
    },
    {
      path: /^\/version$/,
      methods: {
        GET: async (_req, res) => reply(res, 200, { release, node: process.versions.node }),
      },
    },
    {
      path: /^\/notes$/,
      methods: {
        GET: async (_req, res) => reply(res, 200, { notes: await listNotes(db) }),
        POST: async (req, res) => {
          const note = await createNote(db, parseNewNote(await readJsonBody(req, BODY_LIMIT_BYTES)));
          reply(res, 201, note, { location: `/notes/${note.id}` });
        },
      },
    },
    {
      path: /^\/notes\/([^/]+)$/,
      methods: {
        GET: async (_req, res, [rawId]) => {
          const id = parseNoteId(rawId ?? "");
          const note = await findNote(db, id);
          if (note === undefined) throw new HttpError(404, `there is no note ${id}`);
          reply(res, 200, note);
        },
      },
    },
  ];

  return (req, res) => {
    handle(routes, req, res).catch((error: unknown) => fail(res, error, log, reply));
  };
}

async function handle(routes: Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  for (const route of routes) {
    const match = route.path.exec(path);
    if (match === null) continue;
    const handler = route.methods[req.method ?? "GET"];
    if (handler === undefined) {
      const allow = Object.keys(route.methods).join(", ");
      throw new HttpError(405, `${req.method} is not supported here; use ${allow}`, { allow });
    }
    return handler(req, res, match.slice(1));
  }
  throw new HttpError(404, `there is nothing at ${path}`);
}

function fail(res: ServerResponse, error: unknown, log: Log, reply: typeof sendJson): void {
  const known = error instanceof HttpError;
  if (!known) log("error", "request failed", errorFields(error));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (known) {
    // An oversized body was not read to the end: the connection cannot be reused.
    const headers = error.status === 413 ? { ...error.headers, connection: "close" } : error.headers;
    reply(res, error.status, { error: error.message }, headers);
  } else {
    reply(res, 500, { error: "internal error; the details are in the service log" });
  }
}
