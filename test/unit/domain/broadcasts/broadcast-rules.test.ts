import { describe, expect, it } from 'vitest';
import {
  BROADCAST_WINDOW_MS,
  checkBroadcastText,
  checkSendAt,
  deliveryWindow,
  estimateTasks,
  hasMissedWindow,
  isPersonalized,
  reasonCode,
  summarizeStats,
} from '../../../../src/domain/broadcasts/broadcast-rules.js';
import { ValidationError } from '../../../../src/shared/errors.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const quiet = { start: '21:00', end: '09:00', tz: 'Asia/Shanghai' };

describe('checkBroadcastText', () => {
  it("accepts {{name}} and {{staff}} and up to WeCom's 4000 bytes (docs/wecom-protocol.md §Mass messages)", () => {
    expect(() => checkBroadcastText('{{name}}，你好 —— {{ staff }}')).not.toThrow();
    expect(() => checkBroadcastText('好'.repeat(1333))).not.toThrow(); // 3999 bytes
  });

  it('rejects text over 4000 UTF-8 bytes with text_too_long', () => {
    expect(() => checkBroadcastText('好'.repeat(1334))).toThrow(expect.objectContaining({ code: 'text_too_long', status: 400 }));
    expect(() => checkBroadcastText('a'.repeat(4001))).toThrow(ValidationError);
  });

  it('rejects unknown variables, naming them', () => {
    expect(() => checkBroadcastText('{{holiday}}快乐')).toThrow(expect.objectContaining({ code: 'unknown_variable', message: expect.stringContaining('{{holiday}}') }));
  });
});

describe('checkSendAt', () => {
  it('allows up to a minute in the past and anything later', () => {
    const now = sh('2026-09-01T10:00:00');
    expect(() => checkSendAt(sh('2026-09-01T09:59:01'), now)).not.toThrow();
    expect(() => checkSendAt(sh('2027-01-01T00:00:00'), now)).not.toThrow();
    expect(() => checkSendAt(sh('2026-09-01T09:58:59'), now)).toThrow(expect.objectContaining({ code: 'send_at_in_past' }));
  });
});

describe('estimateTasks', () => {
  it('one task per sender and 10,000 customers when the text is the same for everyone', () => {
    expect(isPersonalized('春季新品 —— {{staff}}')).toBe(false);
    expect(estimateTasks({ isPersonalized: false, reachable: 3, perFollower: [2, 1] })).toBe(2);
    expect(estimateTasks({ isPersonalized: false, reachable: 25_000, perFollower: [25_000] })).toBe(3);
  });

  it('one task per customer when {{name}} makes every text different', () => {
    expect(isPersonalized('{{name}}，你好')).toBe(true);
    expect(estimateTasks({ isPersonalized: true, reachable: 7, perFollower: [7] })).toBe(7);
  });

  it('never more tasks than reachable customers (a customer with two followers is counted under both)', () => {
    expect(estimateTasks({ isPersonalized: false, reachable: 1, perFollower: [1, 1] })).toBe(1);
    expect(estimateTasks({ isPersonalized: false, reachable: 0, perFollower: [] })).toBe(0);
  });
});

describe('deliveryWindow', () => {
  it('is due at sendAt and expires two days after it became due', () => {
    const w = deliveryWindow(sh('2026-09-01T10:00:00'), sh('2026-09-01T10:00:30'), quiet);
    expect(w.notBefore).toEqual(sh('2026-09-01T10:00:00'));
    expect(w.expiresAt.getTime()).toBe(sh('2026-09-01T10:00:30').getTime() + BROADCAST_WINDOW_MS);
    expect(w.localDate).toBe('2026-09-01');
  });

  it('counts caps on the day quiet hours release it', () => {
    expect(deliveryWindow(sh('2026-09-01T22:30:00'), sh('2026-09-01T22:30:00'), quiet).localDate).toBe('2026-09-02');
  });

  it('a broadcast not planned within the window has missed it', () => {
    expect(hasMissedWindow(sh('2026-09-01T10:00:00'), sh('2026-09-03T09:59:00'))).toBe(false);
    expect(hasMissedWindow(sh('2026-09-01T10:00:00'), sh('2026-09-03T10:01:00'))).toBe(true);
  });
});

describe('summarizeStats', () => {
  it('counts every ledger status and the skipped rows by reason code', () => {
    const stats = summarizeStats([
      { status: 'sent', reason: null, n: 5 },
      { status: 'skipped', reason: 'opted_out: 客户已退订 / customer opted out', n: 2 },
      { status: 'skipped', reason: 'wecom_quota: 本期企业群发额度已用完 (days_of_month, 30/2026-09)', n: 1 },
      { status: 'skipped', reason: 'daily_cap: …', n: 1 },
      { status: 'over_quota', reason: '客户本期群发次数已满 / WeCom status 3', n: 1 },
    ]);
    expect(stats.total).toBe(10);
    expect(stats.byStatus).toMatchObject({ sent: 5, skipped: 4, over_quota: 1, planned: 0, submitted: 0, failed: 0, expired: 0 });
    expect(stats.skippedByReason).toEqual({ opted_out: 2, wecom_quota: 1, daily_cap: 1 });
  });

  it('reads a reason code before the colon', () => {
    expect(reasonCode('no_sender: 客户没有有效的跟进成员')).toBe('no_sender');
    expect(reasonCode(null)).toBe('unknown');
  });
});
