/**
 * What one check of a release concluded (a smoke test, the error-rate gate, a migration): the deploy
 * acts on `status`, the report shows `summary`/`reason` and the numbers in `section`.
 */
import type { Section } from "./report.js";

export type Verdict =
  | { status: "passed"; summary: string; section?: Section; notConfigured?: true }
  | { status: "failed"; reason: string; section?: Section }
  | { status: "inconclusive"; reason: string; section?: Section };
