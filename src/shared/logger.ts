import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Ids that ride along with every log line of one request or job run. */
export interface LogContext {
  requestId?: string;
  jobRunId?: string;
  eventId?: string | number;
}

export const logContext = new AsyncLocalStorage<LogContext>();

/**
 * Paths pino censors. Tokens, secrets, the AES key, phone numbers and message text never reach a log
 * (reliability §3.3); free text is not scanned, so callers must not log payloads at all.
 */
export const REDACT_PATHS = [
  'token',
  'accessToken',
  'access_token',
  'secret',
  'corpsecret',
  'encodingAesKey',
  'nextToken',
  'nextEncodingAesKey',
  'dataKey',
  'dataKeyReadOnly',
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
  'phone',
  'mobile',
  'remarkMobiles',
  'content',
  'text',
  'xml',
  'payload',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.secret',
  '*.phone',
  '*.mobile',
  '*.remarkMobiles',
  '*.content',
  '*.text',
  '*.payload',
];

/** Build the process logger: JSON in production, pretty when asked for. */
export function createLogger(options: { level: string; pretty?: boolean; destination?: NodeJS.WritableStream }): Logger {
  const base: LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    mixin: () => ({ ...logContext.getStore() }),
  };
  if (options.destination) return pino(base, options.destination as never);
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard', ignore: 'pid,hostname' } } });
  }
  return pino(base);
}

/** A logger that writes nothing, for unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
