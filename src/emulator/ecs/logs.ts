/**
 * CloudWatch Logs for the emulator: log groups and streams in memory, GetLogEvents (from the head or
 * the tail) and FilterLogEvents (over named streams or a prefix, from a start time, paged by
 * nextToken), answered on the ECS emulator's endpoint (JSON 1.1, `Logs_20140328.<Operation>`).
 * Tasks of a failing deployment write their failure's lines here, to `prefix/container/taskId`.
 */
import { AwsError } from "./http.js";

type Json = Record<string, unknown>;

interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
  eventId: string;
}

export class LogBook {
  private readonly groups = new Map<string, Map<string, LogEvent[]>>();
  private counter = 0;

  /** Appends lines to a stream (creating group and stream), one millisecond apart from `atMs`. */
  put(group: string, stream: string, lines: readonly string[], atMs: number): void {
    let streams = this.groups.get(group);
    if (!streams) {
      streams = new Map();
      this.groups.set(group, streams);
    }
    const events = streams.get(stream) ?? [];
    streams.set(stream, events);
    lines.forEach((message, index) => {
      this.counter += 1;
      events.push({
        timestamp: atMs + index,
        message,
        ingestionTime: atMs + index,
        eventId: String(this.counter).padStart(20, "0"),
      });
    });
  }

  /** The streams of a group (for tests). */
  streams(group: string): string[] {
    return [...(this.groups.get(group)?.keys() ?? [])];
  }

  getLogEvents(input: Json): Json {
    const events = this.stream(String(input.logGroupName), String(input.logStreamName));
    const limit = typeof input.limit === "number" ? input.limit : 10_000;
    const inRange = events.filter(
      (e) =>
        (typeof input.startTime !== "number" || e.timestamp >= input.startTime) &&
        (typeof input.endTime !== "number" || e.timestamp < input.endTime),
    );
    // From the tail unless asked for the head, as CloudWatch does; either way oldest first.
    const page = input.startFromHead === true ? inRange.slice(0, limit) : inRange.slice(-limit);
    return {
      events: page.map(({ timestamp, message, ingestionTime }) => ({ timestamp, message, ingestionTime })),
      nextForwardToken: `f/${inRange.length}`,
      nextBackwardToken: `b/0`,
    };
  }

  filterLogEvents(input: Json): Json {
    const group = String(input.logGroupName);
    const streams = this.groups.get(group);
    if (!streams) throw new AwsError("ResourceNotFoundException", "The specified log group does not exist.");
    const named = input.logStreamNames as string[] | undefined;
    const prefix = typeof input.logStreamNamePrefix === "string" ? input.logStreamNamePrefix : "";
    const start = typeof input.startTime === "number" ? input.startTime : 0;
    const limit = typeof input.limit === "number" ? input.limit : 10_000;
    const offset = typeof input.nextToken === "string" ? Number(input.nextToken) : 0;
    const matching = [...streams.entries()]
      .filter(([name]) => (named ? named.includes(name) : name.startsWith(prefix)))
      .flatMap(([name, events]) => events.map((e) => ({ ...e, logStreamName: name })))
      .filter((e) => e.timestamp >= start)
      .sort((a, b) => a.timestamp - b.timestamp || a.eventId.localeCompare(b.eventId));
    const page = matching.slice(offset, offset + limit);
    const next = offset + limit < matching.length ? String(offset + limit) : undefined;
    return { events: page, searchedLogStreams: [], ...(next ? { nextToken: next } : {}) };
  }

  private stream(group: string, stream: string): LogEvent[] {
    const streams = this.groups.get(group);
    if (!streams) throw new AwsError("ResourceNotFoundException", "The specified log group does not exist.");
    const events = streams.get(stream);
    if (!events) throw new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");
    return events;
  }
}
