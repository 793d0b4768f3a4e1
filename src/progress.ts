/**
 * Human progress goes to stderr (stdout carries the JSON report). Everything a long wait prints goes
 * through one Progress, so tests can capture it and secrets can be scrubbed in one place.
 */
export interface Progress {
  info(message: string): void;
  warn(message: string): void;
  /** A step of a long wait: what we wait for, elapsed time, the latest thing that happened. */
  step(message: string): void;
}

export function streamProgress(write: (line: string) => void, secrets: readonly string[] = []): Progress {
  const scrub = (text: string) =>
    secrets.reduce((out, secret) => (secret.length >= 4 ? out.split(secret).join("***") : out), text);
  return {
    info: (m) => write(scrub(m)),
    warn: (m) => write(scrub(`warning: ${m}`)),
    step: (m) => write(scrub(`  … ${m}`)),
  };
}

export const stderrProgress = (secrets: readonly string[] = []): Progress =>
  streamProgress((line) => process.stderr.write(`${line}\n`), secrets);

/** Collects lines in memory: for tests and for the Dagger functions, which return text. */
export class RecordingProgress implements Progress {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(message);
  }
  warn(message: string): void {
    this.lines.push(`warning: ${message}`);
  }
  step(message: string): void {
    this.lines.push(`  … ${message}`);
  }
}

export function formatSeconds(ms: number): string {
  const total = Math.round(ms / 1000);
  return total >= 60 ? `${Math.floor(total / 60)}m${String(total % 60).padStart(2, "0")}s` : `${total}s`;
}
