/**
 * Every CloudWatch Logs call Shipyard makes, in one place: the last lines a failed container wrote
 * (GetLogEvents, newest last in the answer), and a service's lines across its tasks
 * (FilterLogEvents, paged by nextToken). The SDK is imported on first use, like the other gateways.
 *
 * The endpoint override is AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, then AWS_ENDPOINT_URL.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { type AwsClientOptions, AwsGateway, clientConfig, endpointOverride } from "./client.js";

export type LogsClientOptions = AwsClientOptions;

export type LogsClientFactory = (options: LogsClientOptions) => Promise<CloudWatchLogsClient>;

export const createLogsClient: LogsClientFactory = async (options) => {
  const { CloudWatchLogsClient } = await import("@aws-sdk/client-cloudwatch-logs");
  return new CloudWatchLogsClient({
    ...clientConfig(options),
  });
};

/** The CloudWatch Logs endpoint override: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, then AWS_ENDPOINT_URL. */
export function logsEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return endpointOverride(env, "CLOUDWATCH_LOGS");
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

export class Logs extends AwsGateway {
  constructor(client: CloudWatchLogsClient) {
    super(client);
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

export async function openLogs(options: AwsClientOptions & { factory?: LogsClientFactory }): Promise<Logs> {
  const { factory = createLogsClient, ...clientOptions } = options;
  const client = await factory(clientOptions);
  return new Logs(client);
}
