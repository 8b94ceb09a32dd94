import { WecomApiError } from '../../../shared/errors.js';

/**
 * 84061 no relation / 40096 invalid or invisible external id: the customer can no longer be read
 * (docs/wecom-protocol.md §Error codes).
 */
export function isRelationGone(err: unknown): boolean {
  return err instanceof WecomApiError && (err.errcode === 84061 || err.errcode === 40096);
}
