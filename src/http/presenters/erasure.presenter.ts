import type { ErasureResult } from '../../domain/privacy/erasure.service.js';

/** The erasure response: what was removed per table, and what this bot left in WeCom and why. */
export function presentErasure(r: ErasureResult) {
  return {
    erasureId: r.erasureId,
    subjectHash: r.subjectHash,
    erasedAt: r.erasedAt.toISOString(),
    counts: r.counts,
    totalRows: r.totalRows,
    wecom: { deleted: false, followUsers: r.wecomFollowers, remains: r.remainsInWecom },
  };
}
