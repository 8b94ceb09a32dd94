/**
 * Chinese explanations of the errcodes a group transfer can meet, shown per group in the API and the console. Pure, so
 * the wording is tested without WeCom.
 * See docs/wecom-protocol.md §Group transfers
 */
const MESSAGES: Record<number, string> = {
  [-1]: '企业微信系统繁忙，将自动重试',
  40003: '新群主不存在或已离职（无效的 UserID）',
  40128: '该群 90 天内已在职转交 2 次，暂时不能再转交',
  45009: '今天分配给该新群主的离职成员群已达 300 个上限，将自动重试',
  45033: '企业微信并发调用过多，将自动重试',
  48002: '应用没有客户联系接口权限',
  60011: '群主或新群主不在应用的可见范围内',
  90500: '群主尚未离职，不能使用离职继承（请用在职继承）',
  90501: '该群不是客户群',
  90502: '群主已离职，不能使用在职继承（请用离职继承）',
  90503: '群已满且有 99 位微信成员，需在客户端确认',
  90504: '新群主与当前群主相同',
  90507: '该群正在离职继承中',
  90508: '该群已被继承',
};

/** errcodes worth calling again later: system busy, concurrency, frequency (the 300-a-day limit resets). */
const RETRYABLE = new Set([-1, 45009, 45033]);

/** The message for a per-group or whole-call errcode. */
export function groupTransferMessage(errcode: number): string {
  return MESSAGES[errcode] ?? `企业微信拒绝了转交（错误码 ${errcode}）`;
}

/** Whether a group refused with this errcode is tried again by the `transfers` job. */
export function isRetryableGroupErrcode(errcode: number): boolean {
  return RETRYABLE.has(errcode);
}
