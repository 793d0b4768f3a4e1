/**
 * Every CloudWatch Logs call Shipyard makes, in one place: the last lines a failed container wrote
 * (GetLogEvents, newest last in the answer), and a service's lines across its tasks
 * (FilterLogEvents, paged by nextToken). The SDK is imported on first use, like the other gateways.
 *
 * The endpoint override is AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, then AWS_ENDPOINT_URL.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { AwsCredentials } from "./client.js";

export interface LogsClientOptions {
  region: string;
  endpoint?: string;
  /** Explicit credentials (the Dagger face); absent: the SDK's default chain. */
  credentials?: AwsCredentials;
}

export type LogsClientFactory = (options: LogsClientOptions) => Promise<CloudWatchLogsClient>;

export const createLogsClient: LogsClientFactory = async (options) => {
  const { CloudWatchLogsClient } = await import("@aws-sdk/client-cloudwatch-logs");
  return new CloudWatchLogsClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
};

/** The CloudWatch Logs endpoint override: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, then AWS_ENDPOINT_URL. */
export function logsEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS || env.AWS_ENDPOINT_URL || undefined;
}

export interface LogLine {
  /** Milliseconds since the epoch, as the container wrote it. */
  timestamp: number;
  message: string;
  /** The stream it came from (FilterLogEvents only). */
  stream?: string;
  /** CloudWatch's id of the event (FilterLogEvents only): a poll that overlaps skips what it saw. */
  eventId?: string;
}

interface WireEvent {
  timestamp?: number;
  message?: string;
  logStreamName?: string;
  eventId?: string;
}

const sdk = () => import("@aws-sdk/client-cloudwatch-logs");

function lineOf(event: WireEvent): LogLine {
  return {
    timestamp: event.timestamp ?? 0,
    message: (event.message ?? "").replace(/\r?\n$/, ""),
    ...(event.logStreamName ? { stream: event.logStreamName } : {}),
    ...(event.eventId ? { eventId: event.eventId } : {}),
  };
}

export class Logs {
  /** Operation names sent, in order (for reports and tests; never their inputs). */
  readonly sent: string[] = [];

  constructor(private readonly client: CloudWatchLogsClient) {}

  private async send<T>(operation: string, command: unknown, signal?: AbortSignal): Promise<T> {
    this.sent.push(operation);
    // The SDK's send is overloaded per command; the gateway is the one place that erases the type.
    const send = this.client.send.bind(this.client) as (
      c: unknown,
      o?: { abortSignal?: AbortSignal },
    ) => Promise<T>;
    return send(command, signal ? { abortSignal: signal } : undefined);
  }

  /** The last `limit` lines of one stream, oldest first (one GetLogEvents from the tail). */
  async lastLines(group: string, stream: string, limit: number, signal?: AbortSignal): Promise<LogLine[]> {
    const { GetLogEventsCommand } = await sdk();
    const answer = await this.send<{ events?: WireEvent[] }>(
      "GetLogEvents",
      new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: false, limit }),
      signal,
    );
    return (answer.events ?? []).map(lineOf);
  }

  /** One page of FilterLogEvents over some streams of a group, oldest first. */
  async filter(
    query: {
      group: string;
      streams?: string[];
      streamPrefix?: string;
      startTime?: number;
      limit?: number;
      nextToken?: string;
    },
    signal?: AbortSignal,
  ): Promise<{ lines: LogLine[]; nextToken: string | undefined }> {
    const { FilterLogEventsCommand } = await sdk();
    const answer = await this.send<{ events?: WireEvent[]; nextToken?: string }>(
      "FilterLogEvents",
      new FilterLogEventsCommand({
        logGroupName: query.group,
        ...(query.streams && query.streams.length > 0 ? { logStreamNames: query.streams } : {}),
        ...(query.streamPrefix && !query.streams?.length ? { logStreamNamePrefix: query.streamPrefix } : {}),
        ...(query.startTime !== undefined ? { startTime: query.startTime } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        ...(query.nextToken ? { nextToken: query.nextToken } : {}),
      }),
      signal,
    );
    return { lines: (answer.events ?? []).map(lineOf), nextToken: answer.nextToken || undefined };
  }
}

export async function openLogs(options: {
  region: string;
  factory?: LogsClientFactory;
  endpoint?: string;
  credentials?: AwsCredentials;
}): Promise<Logs> {
  const factory = options.factory ?? createLogsClient;
  const client = await factory({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  return new Logs(client);
}
