/**
 * Human progress: what a long command is doing, on stderr (stdout carries the JSON report). Every
 * line goes through one Output (src/report/output.ts), which scrubs secrets before anything leaves
 * the process.
 */
export interface Progress {
  info(message: string): void;
  warn(message: string): void;
  /** A step of a long wait: what we wait for, elapsed time, the latest thing that happened. */
  step(message: string): void;
}

export function formatSeconds(ms: number): string {
  const total = Math.round(ms / 1000);
  return total >= 60 ? `${Math.floor(total / 60)}m${String(total % 60).padStart(2, "0")}s` : `${total}s`;
}

/** Seconds with one decimal: the one rounding every report uses. */
export function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
