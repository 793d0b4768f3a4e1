/**
 * One JSON object per line on stdout: what CloudWatch Logs (awslogs driver) and `docker logs` show,
 * and what the end-to-end tests read to learn the port and follow the shutdown.
 */

export type Level = "info" | "warn" | "error";
export type Fields = Record<string, unknown>;
export type Log = (level: Level, message: string, fields?: Fields) => void;

export function jsonLog(write: (line: string) => void = (line) => process.stdout.write(line)): Log {
  return (level, message, fields = {}) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
  };
}

/** For tests that do not look at the log. */
export const silentLog: Log = () => {};

export function errorFields(error: unknown): Fields {
  if (error instanceof Error) return { error: error.message, errorName: error.name };
  return { error: String(error) };
}
