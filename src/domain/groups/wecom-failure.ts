import { WecomApiError, toError } from '../../shared/errors.js';

/** What common WeCom errcodes mean to an operator (docs/wecom-protocol.md §Error codes), in zh-CN. */
const ERRCODE_WORDS: Record<number, string> = {
  [-1]: '企业微信系统繁忙，重试后仍未成功',
  45009: '接口调用超过企业微信的频率限制',
  45033: '接口并发调用超过企业微信的限制',
  48002: '应用没有调用该接口的权限：请在「客户联系 → 可调用接口的应用」中加入本应用',
  60011: '所选成员或群主不在应用的可见范围内',
  60020: '服务器 IP 不在企业可信 IP 中',
};

/**
 * Why a write did not reach WeCom or was not taken, for a parked row (zh-CN, ≤ 500 characters): the errcode in words
 * where it is a common one, else the bare code; no English errmsg on screen.
 */
export function describeWecomFailure(err: unknown): string {
  if (err instanceof WecomApiError) return `企业微信返回错误码 ${err.errcode}${ERRCODE_WORDS[err.errcode] ? `：${ERRCODE_WORDS[err.errcode]}` : ''}`.slice(0, 500);
  return `连接企业微信失败（超时或网络错误）：${toError(err).message}`.slice(0, 500);
}
