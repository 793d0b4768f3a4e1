/** The service's one resource: short notes, stored in the `notes` table (migrations/0001_create_notes.sql). */
import type { Pool } from "pg";
import { HttpError } from "./http.js";

export interface Note {
  id: string;
  title: string;
  body: string;
  createdAt: string;
}

export interface NewNote {
  title: string;
  body: string;
}

/** What the notes code needs from pg: a Pool or a Client. */
export type Queryable = Pick<Pool, "query">;

export const TITLE_MAX = 200;
export const BODY_MAX = 10_000;
export const LIST_LIMIT = 50;

/** Validates a request body; the message tells the client exactly which field to fix. */
export function parseNewNote(input: unknown): NewNote {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new HttpError(400, 'send a JSON object such as {"title": "Groceries", "body": "milk"}');
  }
  const { title, body = "" } = input as Record<string, unknown>;
  if (typeof title !== "string" || title.trim() === "") {
    throw new HttpError(400, '"title" is required: a non-empty string');
  }
  if (title.length > TITLE_MAX) throw new HttpError(400, `"title" must be at most ${TITLE_MAX} characters`);
  if (typeof body !== "string") throw new HttpError(400, '"body" must be a string');
  if (body.length > BODY_MAX) throw new HttpError(400, `"body" must be at most ${BODY_MAX} characters`);
  return { title: title.trim(), body };
}

/** Ids are bigint in the database and strings in JSON, so they never lose precision. */
export function parseNoteId(raw: string): string {
  if (!/^[1-9][0-9]{0,17}$/.test(raw)) throw new HttpError(404, `there is no note ${raw}`);
  return raw;
}

// A type alias, not an interface: pg wants rows with an index signature.
type NoteRow = {
  id: string;
  title: string;
  body: string;
  created_at: Date;
};

const COLUMNS = "id, title, body, created_at";

function toNote(row: NoteRow): Note {
  return { id: String(row.id), title: row.title, body: row.body, createdAt: row.created_at.toISOString() };
}

export async function createNote(db: Queryable, note: NewNote): Promise<Note> {
  const { rows } = await db.query<NoteRow>(
    `INSERT INTO notes (title, body) VALUES ($1, $2) RETURNING ${COLUMNS}`,
    [note.title, note.body],
  );
  return toNote(rows[0]!);
}

export async function findNote(db: Queryable, id: string): Promise<Note | undefined> {
  const { rows } = await db.query<NoteRow>(`SELECT ${COLUMNS} FROM notes WHERE id = $1`, [id]);
  return rows[0] === undefined ? undefined : toNote(rows[0]);
}

/** Newest first; served by the index of migrations/0002. */
export async function listNotes(db: Queryable, limit = LIST_LIMIT): Promise<Note[]> {
  const { rows } = await db.query<NoteRow>(
    `SELECT ${COLUMNS} FROM notes ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit],
  );
  return rows.map(toNote);
}
