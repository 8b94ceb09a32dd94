import { AppError } from '../../shared/errors.js';
import type { WecomApi } from './api-policy.js';

/** How a call failed before WeCom could answer with an errcode. */
export type TransportFailure = 'timeout' | 'network' | 'http_status' | 'bad_response';

/**
 * A WeCom call failed in transport: no errcode came back. Operational, logged at warn (STYLE "Errors").
 *
 * It deliberately carries no URL, request config or cause: the access_token travels in the query
 * string (docs/wecom-protocol.md §Conventions) and an axios error would carry it into any log that serialises the
 * error.
 */
export class WecomTransportError extends AppError {
  constructor(
    readonly api: WecomApi,
    readonly failure: TransportFailure,
    /** True when the request may have reached WeCom, so a write may or may not have happened. */
    readonly isOutcomeUnknown: boolean,
    /** HTTP status, for `http_status` failures. */
    readonly httpStatus?: number,
    /** The network error code (ECONNRESET, ETIMEDOUT, …), if any. */
    readonly networkCode?: string,
  ) {
    const detail = httpStatus ? ` (HTTP ${httpStatus})` : networkCode ? ` (${networkCode})` : '';
    super(502, 'wecom_unavailable', `WeCom ${api} failed: ${failure}${detail}`, false);
  }
}
