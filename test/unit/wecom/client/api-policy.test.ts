import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMIT, IDEMPOTENT, TOKEN_ERRCODES, limitFor } from '../../../../src/wecom/client/api-policy.js';

describe('IDEMPOTENT', () => {
  it('never marks a write that could act twice as safe to repeat', () => {
    const unsafe = Object.entries(IDEMPOTENT).filter(([, ok]) => !ok).map(([api]) => api).sort();

    expect(unsafe).toEqual([
      'auth/getuserinfo',
      'externalcontact/add_contact_way',
      'externalcontact/add_corp_tag',
      'externalcontact/add_msg_template',
      // A second template or join way is a second one (docs/wecom-protocol.md §Group join ways, §Group welcome templates).
      'externalcontact/group_welcome_template/add',
      'externalcontact/groupchat/add_join_way',
      // A repeated on-job group transfer would count against the group's 2 per 90 days (docs/wecom-protocol.md §Group transfers).
      'externalcontact/groupchat/onjob_transfer',
      'externalcontact/groupchat/transfer',
      'externalcontact/remind_groupmsg_send',
      // A repeated transfer would count against the customer's 2 on-job transfers per 90 days
      // (docs/wecom-protocol.md §Customer transfers).
      'externalcontact/resigned/transfer_customer',
      'externalcontact/transfer_customer',
      'kf/send_msg',
      'kf/send_msg_on_event',
      // A second upload is a second permanent image, spending the corp's monthly image budget (docs/wecom-protocol.md §Media).
      'media/uploadimg',
      'message/send',
    ]);
  });
});

describe('limitFor', () => {
  it('keeps the default (a budget shared by every instance) a margin under the per-minute and hourly limits (docs/wecom-protocol.md §API rate limits, docs/rate-limits.md)', () => {
    expect(DEFAULT_LIMIT.perMinute).toBeLessThanOrEqual(10_000 * 0.9);
    // 100 adds/s make 6,000 externalcontact/get a minute during a surge: the default must let that through.
    expect(limitFor('externalcontact/get', undefined).perMinute).toBeGreaterThanOrEqual(6000);
    // The minute bucket alone would allow 60 × perMinute an hour, so every default must carry an hourly bound.
    for (const api of ['externalcontact/get', 'externalcontact/send_welcome_msg', 'externalcontact/mark_tag', 'externalcontact/batch/get_by_user'] as const) {
      const limit = limitFor(api, undefined);
      expect(limit.perHour ?? limit.perMinute * 60).toBeLessThanOrEqual(150_000 * 0.8);
      expect(limit.perMinute).toBeLessThanOrEqual(10_000 * 0.9);
    }
  });

  it('caps batch/get_by_user and groupchat/get at 5 in flight (docs/wecom-protocol.md §API rate limits) unless overridden', () => {
    expect(limitFor('externalcontact/batch/get_by_user', undefined).concurrency).toBe(5);
    expect(limitFor('externalcontact/groupchat/get', undefined).concurrency).toBe(5);
    expect(limitFor('externalcontact/groupchat/get', { 'externalcontact/groupchat/get': { perMinute: 10, concurrency: 1 } })).toEqual({ perMinute: 10, concurrency: 1 });
  });

  it('does not treat 41001 as a token error (docs/wecom-protocol.md §Access tokens)', () => {
    expect(TOKEN_ERRCODES.has(41001)).toBe(false);
    expect([...TOKEN_ERRCODES].sort()).toEqual([40001, 40014, 42001]);
  });
});
