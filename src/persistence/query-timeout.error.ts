import { AppError } from '../shared/errors.js';

/**
 * 503: an API read ran past its deadline (API_STATEMENT_TIMEOUT_MS) and was stopped. Shown to the caller, who can
 * narrow the audience or search; nothing was changed (docs/security.md §Audience queries).
 */
export class QueryTimeoutError extends AppError {
  constructor(timeoutMs: number) {
    super(503, 'query_timeout', `查询超时，请缩小人群条件（query timed out after ${timeoutMs} ms; narrow the audience or search）`, true);
  }
}

/** True for the error MariaDB (1969 ER_STATEMENT_TIMEOUT) or MySQL 8 (3024 ER_QUERY_TIMEOUT) raise at a statement deadline. */
export function isStatementTimeoutError(err: unknown): boolean {
  const e = err as { errno?: number; code?: string; driverError?: { errno?: number; code?: string } };
  const errno = e?.driverError?.errno ?? e?.errno;
  const code = e?.driverError?.code ?? e?.code;
  return errno === 1969 || errno === 3024 || code === 'ER_STATEMENT_TIMEOUT' || code === 'ER_QUERY_TIMEOUT';
}
