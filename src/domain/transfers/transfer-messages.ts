/**
 * Chinese explanations of the WeCom errcodes a transfer can meet
 * (docs/wecom-protocol.md §Error codes, §Customer transfers), shown per customer in the API and the list. Pure, so the
 * wording is tested without WeCom.
 */
const MESSAGES: Record<number, string> = {
  40003: '成员不存在或已离职（无效的 UserID）',
  40096: '客户不存在或不在应用可见范围内（无效的外部联系人 ID）',
  40097: '原跟进成员尚未离职，不能使用离职继承',
  40098: '接替成员尚未实名认证',
  40128: '该客户 90 天内已被在职转接 2 次，暂时不能再转接',
  48002: '应用没有客户联系接口权限',
  60011: '成员不在应用的可见范围内',
  84061: '该客户不是原跟进成员的客户',
  40058: '企业微信拒绝了参数（例如客户已在转接中，或原跟进成员与接替成员相同）',
};

/** The message for a per-customer or whole-call errcode. */
export function transferErrorMessage(errcode: number): string {
  return MESSAGES[errcode] ?? `企业微信拒绝了转接（错误码 ${errcode}）`;
}

/** 在职继承 / 离职继承, for summaries. */
export function transferKindLabel(kind: 'onjob' | 'resigned'): string {
  return kind === 'onjob' ? '在职继承' : '离职继承';
}

/** transfer_result statuses (docs/wecom-protocol.md §Customer transfers) and what the bot records for each. */
export const RESULT_STATUS = { done: 1, waiting: 2, refused: 3, takerLimit: 4, noRecord: 5 } as const;
