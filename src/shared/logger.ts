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
 * (docs/reliability.md §Logging and redaction); free text is not scanned, so callers must not log payloads at all.
 */
export const REDACT_PATHS = [
  'token',
  'accessToken',
  'access_token',
  'secret',
  'secretAccessKey',
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

/**
 * Longest log line written, in bytes (docs/security.md §Logging). A longer line is rewritten with every long string
 * cut to MAX_LOG_STRING_CHARS; if that is still too long, only its level, time, message and ids are kept.
 */
export const MAX_LOG_LINE_BYTES = 16 * 1024;
/** Longest string kept whole in a line that was over MAX_LOG_LINE_BYTES. */
export const MAX_LOG_STRING_CHARS = 1024;
/** Longest error message or stack a serialized error keeps. */
const MAX_ERROR_TEXT_CHARS = 4000;

// Fields drivers and TypeORM put on a failed statement's error: the SQL and its bound values, which may hold a
// searched phone number, a name or any other personal data (docs/security.md §Logging).
const SQL_ERROR_FIELDS = ['query', 'parameters', 'sql', 'sqlMessage', 'values'];

/**
 * An error as it may be logged: pino's standard shape without the SQL, its parameters or the driver's copy of
 * them, and, for a database error, with quoted literals in its message masked (MySQL quotes values in messages
 * such as "Duplicate entry '…'" and "near '…'"). Used as the `err` serializer, so every logger call gets it.
 */
export function serializeError(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  const src = value as Record<string, unknown>;
  const isDbError = SQL_ERROR_FIELDS.some((k) => k in src) || 'driverError' in src;
  // Not pino.stdSerializers.err: it folds every cause's message into the outer message and stack, past this scrub.
  const out: Record<string, unknown> =
    value instanceof Error ? { type: value.constructor?.name ?? 'Error', message: value.message, stack: value.stack, ...src } : { ...src };
  for (const k of SQL_ERROR_FIELDS) delete out[k];
  if ('driverError' in out) {
    const d = src.driverError as { code?: unknown; errno?: unknown } | undefined;
    out.driverError = d && typeof d === 'object' ? { code: d.code, errno: d.errno } : undefined;
  }
  for (const k of ['message', 'stack'] as const) {
    if (typeof out[k] !== 'string') continue;
    const text = isDbError ? maskLiterals(out[k] as string) : (out[k] as string);
    out[k] = cut(text, MAX_ERROR_TEXT_CHARS);
  }
  if (src.cause !== undefined && depth < 3) out.cause = serializeError(src.cause, depth + 1);
  return out;
}

/** 'x', "x" and `x` in a database message become '…': they are values or SQL, never needed to diagnose. */
function maskLiterals(text: string): string {
  return text.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`/g, (m) => `${m[0]}…${m[0]}`);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more chars cut]` : text;
}

/** The cap of MAX_LOG_LINE_BYTES on one serialized line (pino's streamWrite hook). */
export function capLogLine(line: string): string {
  if (line.length <= MAX_LOG_LINE_BYTES / 4 || Buffer.byteLength(line) <= MAX_LOG_LINE_BYTES) return line;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${JSON.stringify({ msg: 'log line over the size cap, not JSON', truncated: true, bytes: Buffer.byteLength(line) })}\n`;
  }
  const shortened = `${JSON.stringify({ ...(shorten(obj, 0) as object), truncated: true })}\n`;
  if (Buffer.byteLength(shortened) <= MAX_LOG_LINE_BYTES) return shortened;
  const keep: Record<string, unknown> = { truncated: true, bytes: Buffer.byteLength(line) };
  for (const k of ['level', 'time', 'pid', 'hostname', 'requestId', 'jobRunId', 'eventId']) if (k in obj) keep[k] = obj[k];
  keep.msg = typeof obj.msg === 'string' ? cut(obj.msg, MAX_LOG_STRING_CHARS) : obj.msg;
  return `${JSON.stringify(keep)}\n`;
}

function shorten(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return cut(value, MAX_LOG_STRING_CHARS);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[nested too deep]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => shorten(v, depth + 1));
  return Object.fromEntries(Object.entries(value).slice(0, 100).map(([k, v]) => [k, shorten(v, depth + 1)]));
}

/** Build the process logger: JSON in production, pretty when asked for. */
export function createLogger(options: { level: string; pretty?: boolean; destination?: NodeJS.WritableStream }): Logger {
  const base: LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    mixin: () => ({ ...logContext.getStore() }),
    serializers: { err: (e: unknown) => serializeError(e), error: (e: unknown) => serializeError(e) },
    hooks: { streamWrite: capLogLine },
  };
  if (options.destination) return pino(base, options.destination as never);
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard', ignore: 'pid,hostname' } } });
  }
  return pino(base);
}

/** A logger that writes nothing, for unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
