import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { ErasureRepository } from '../../persistence/repositories/erasure.repository.js';
import type { ErasureCounts } from './erasure.types.js';

/** What an erasure did and what it could not do. */
export interface ErasureResult {
  erasureId: string;
  subjectHash: string;
  erasedAt: Date;
  /** Rows deleted, or turned into non-personal stubs, per table; all zero when there was nothing (left) to erase. */
  counts: ErasureCounts;
  totalRows: number;
  /** Staff members the customer was related to: the relations themselves still exist in WeCom. */
  wecomFollowers: string[];
  /** What remains in WeCom, which this bot does not delete. */
  remainsInWecom: string[];
}

/** Turns an ExternalUserID into a keyed one-way hash (HMAC under the erasure key, see DataKeysService.erasureKey). */
export type SubjectHasher = (externalUserId: string) => string;

/** The id ledger stubs carry instead of the customer's: recognisable, fixed-length, one-way. */
export function erasedStubId(subjectHash: string): string {
  return `erased:${subjectHash}`;
}

const REMAINS_IN_WECOM = [
  '企业微信里的客户联系关系（好友关系）仍在：它属于客户本人，本系统不调用删除接口。客户可在微信中删除员工，或由员工在企业微信中删除该客户。 / The WeChat friendship with each staff member (the external contact relation) remains in WeCom: it is the customer\'s own, so the bot never calls WeCom to delete it. The customer can remove the staff member in WeChat, or staff can delete the contact in WeCom.',
  '员工在企业微信中为该客户设置的备注、描述、备注手机号和企业标签仍在企业微信中。 / The remark, description, remark mobiles and corp tags staff set on the relation remain in WeCom.',
  '聊天记录（员工手机、会话内容存档）、客户群成员身份、微信客服会话仍在企业微信中。 / Chat history (on staff devices and in 会话内容存档), customer-group membership and WeChat-KF sessions remain in WeCom.',
  '只要关系还在，之后的回调或夜间 sync 会为该客户重新建立一份新的档案。 / While the relation exists, a later callback or the nightly sync creates a fresh archive for this customer (a new relation, not the erased one).',
];

/**
 * 删除个人信息: erase one customer's personal data from every table (PIPL art. 47; docs/reliability.md §PIPL duties,
 * §Reliability tests, test 25).
 *
 * The ExternalUserID is personal information only together with what it links to (PIPL art. 4: information
 * "related to an identified or identifiable natural person"). Once the profile, relations, timeline, notes, orders,
 * tags, group memberships and callback payloads are gone, a keyed hash of it in the ledger stubs and the audit row
 * identifies nobody, which lets delivery and campaign counts stay right and the audit answer "was X erased?" for
 * whoever holds DATA_KEY. WeCom is not called: the friendship is the customer's (see REMAINS_IN_WECOM).
 */
export class ErasureService {
  constructor(
    private readonly repo: ErasureRepository,
    private readonly hashSubject: SubjectHasher,
    private readonly clock: Clock,
    private readonly log: Logger,
    /**
     * Port from the audit log: redact the customer's data from its rows, leaving who, when and which action
     * (docs/security.md §Audit log). Returns the rows redacted.
     */
    private readonly redactAudit?: (externalUserId: string, stub: string, now: Date) => Promise<number>,
  ) {}

  /** Erase a customer; idempotent (a second call erases nothing and records zero counts). */
  async erase(externalUserId: string, byPrincipal: string): Promise<ErasureResult> {
    const subjectHash = this.hashSubject(externalUserId);
    const now = this.clock.now();
    const followers = await this.repo.followers(externalUserId);
    // Groups in this order: the archive first, so audiences and the archive API stop seeing the customer at once;
    // the ledger before the inbox, so no planned row is sent to a customer whose events were just dropped.
    const counts: ErasureCounts = {
      ...(await this.repo.eraseArchive(externalUserId)),
      ...(await this.repo.eraseTimeline(externalUserId)),
      ...(await this.repo.stubLedger(externalUserId, erasedStubId(subjectHash), now.getTime())),
      ...(await this.repo.eraseInbox(externalUserId)),
      ...(this.redactAudit ? { audit_log: await this.redactAudit(externalUserId, erasedStubId(subjectHash), now) } : {}),
    };
    const record = await this.repo.record({ subjectHash, erasedAt: now, byPrincipal, countsPerTable: counts });
    const totalRows = Object.values(counts).reduce((a, b) => a + b, 0);
    // The hash, not the id: logs are kept longer than the erasure is meant to leave traces (STYLE: redaction).
    this.log.info({ erasureId: record.id, subjectHash, totalRows, byPrincipal }, 'customer personal data erased');
    return {
      erasureId: record.id,
      subjectHash,
      erasedAt: now,
      counts,
      totalRows,
      wecomFollowers: followers.filter((f) => f.status === 'active').map((f) => f.userid),
      remainsInWecom: REMAINS_IN_WECOM,
    };
  }
}
