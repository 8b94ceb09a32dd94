import type { TimelineEntry } from './timeline.types.js';

/**
 * What a customer sends to stop marketing messages: the conventions of Chinese SMS and WeChat (回复TD退订). Only a
 * message that is nothing but the request counts, so "怎么退订会员卡" is a question, not an opt-out.
 */
const OPT_OUT_REQUEST = /^\s*(退订|TD|取消订阅|拒收|不要再发了?)\s*[。.!！]?\s*$/i;

/** Whether a customer's message asks to stop marketing messages. */
export function isOptOutRequest(text: string): boolean {
  return OPT_OUT_REQUEST.test(text);
}

/**
 * The timeline record of a consent change (PIPL art. 15–16, 24: withdrawal must be easy and is honoured at send time;
 * docs/reliability.md §PIPL duties). `sourceId` makes it idempotent: a replayed KF message records nothing twice.
 */
export function consentEntry(input: {
  externalUserId: string;
  isOptedOut: boolean;
  via: 'staff' | 'kf';
  staffUserid: string | null;
  sourceId: string;
  at: Date;
}): TimelineEntry {
  const what = input.isOptedOut ? '退订营销消息' : '恢复接收营销消息';
  const who = input.via === 'kf' ? '客户在微信客服中发送退订' : `由 ${input.staffUserid ?? '管理员'} 记录`;
  return {
    externalUserId: input.externalUserId,
    staffUserid: input.staffUserid,
    kind: 'consent',
    summary: `${what}（${who}）`,
    data: { optedOut: input.isOptedOut, via: input.via },
    source: 'consent',
    sourceId: input.sourceId,
    occurredAt: input.at,
  };
}
