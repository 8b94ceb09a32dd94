/** Base error: an HTTP status, a stable snake_case code, and whether the message may be shown to callers. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly expose = status < 500,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the caller sent something we cannot accept. */
export class ValidationError extends AppError {
  constructor(message: string, details?: unknown, code = 'validation_error') {
    super(400, code, message, true, details);
  }
}

/**
 * A 400 about one field of the request body, so a form can show the message next to that field (README
 * §HTTP): `details.fields` maps the field's path in the body (dot-joined, e.g. `welcome.text`) to the message.
 */
export function invalidField(field: string, message: string, code = 'validation_error'): ValidationError {
  return new ValidationError(message, { fields: { [field]: message } }, code);
}

/** 401: no or unknown credentials. */
export class UnauthorizedError extends AppError {
  constructor(message = '需要有效的 API 令牌') {
    super(401, 'unauthorized', message);
  }
}

/** 403: known caller, not allowed. */
export class ForbiddenError extends AppError {
  constructor(message = '没有权限执行此操作', code = 'forbidden') {
    super(403, code, message);
  }
}

/** 404: no such thing (or not visible to this caller). */
export class NotFoundError extends AppError {
  constructor(message = '未找到', code = 'not_found') {
    super(404, code, message);
  }
}

/** 429: this client failed too often; `retryAfterSeconds` says when to try again. */
export class TooManyRequestsError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = 'too_many_attempts',
  ) {
    super(429, code, message);
  }
}

/** 409: the request conflicts with the current state. */
export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

/** 413: the request is larger than this endpoint takes (bytes, rows); the message names the limit. */
export class PayloadTooLargeError extends AppError {
  constructor(message: string, code = 'payload_too_large', details?: unknown) {
    super(413, code, message, true, details);
  }
}

/**
 * A WeCom API answered with a non-zero errcode. Branch on errcode, never on errmsg
 * (docs/wecom-protocol.md §Conventions).
 */
export class WecomApiError extends AppError {
  constructor(
    readonly api: string,
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(502, 'wecom_api_error', `WeCom ${api} failed: ${errcode} ${errmsg}`, false);
  }
}

/** Narrow an unknown thrown value to an Error. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
