import type { ApiContext, ApiRequest, ApiTable } from '../api-types.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { assertMaxChars, optionalInt, optionalString, requireString, stringArray } from '../params.js';
import type { SandboxTransfer } from '../store.js';

/** The takeover happens 24 h after the request (docs/wecom-protocol.md §Customer transfers: "待24小时后自动接替"). */
export const TRANSFER_DELAY_MS = 24 * 3600 * 1000;
/**
 * 在职继承: each customer may be transferred at most 2 times in 90 days (docs/wecom-protocol.md §Customer transfers,
 * 40128).
 */
const ONJOB_LIMIT = 2;
const ONJOB_WINDOW_MS = 90 * 86400 * 1000;
/** ≤ 100 customers per call (docs/wecom-protocol.md §Customer transfers). */
const MAX_CUSTOMERS = 100;
/** transfer_result pages hold at most 1000 records (doc path/94088, "每个分页返回的数据不会超过1000条"). */
const RESULT_PAGE = 1000;

/**
 * A member who exists and has not left; 40003 otherwise (docs/wecom-protocol.md §Error codes: "exists, not resigned").
 */
function requireActiveStaff(ctx: ApiContext, userid: string): void {
  const member = ctx.store.staff.get(userid);
  if (!member || member.resignedAtMs !== undefined) throw new SandboxApiError(Errcode.InvalidUserid, userid);
}

/**
 * One transfer call, shared by both APIs: whole-call checks throw (the call fails), per-customer checks become that
 * customer's errcode and never block the others (the doc's sample answers 40096 for one and 0 for another;
 * docs/wecom-protocol.md §Customer transfers).
 */
function transfer(kind: SandboxTransfer['kind'], req: ApiRequest, ctx: ApiContext): Record<string, unknown> {
  const handover = requireString(req.body, 'handover_userid');
  const takeover = requireString(req.body, 'takeover_userid');
  const ids = stringArray(req.body, 'external_userid');
  const successMsg = kind === 'onjob' ? optionalString(req.body, 'transfer_success_msg') : undefined;
  if (ids.length === 0) throw new SandboxApiError(Errcode.MissingExternalUserid);
  if (ids.length > MAX_CUSTOMERS) throw new SandboxApiError(Errcode.InvalidParameterValue, 'external_userid exceeds 100');
  assertMaxChars(successMsg, 200, 'transfer_success_msg');
  const member = ctx.store.staff.get(handover);
  if (!member) throw new SandboxApiError(Errcode.InvalidUserid, handover);
  if (kind === 'resigned' && member.resignedAtMs === undefined) throw new SandboxApiError(Errcode.HandoverNotResigned, handover);
  if (kind === 'onjob' && member.resignedAtMs !== undefined) throw new SandboxApiError(Errcode.InvalidUserid, `${handover} has resigned`);
  // The taker must be an active member with 客户联系 (the doc's 权限说明; docs/wecom-protocol.md §Customer transfers).
  requireActiveStaff(ctx, takeover);
  // WeCom documents no code for handing customers to their own follower; 40058 is the closest documented one.
  if (handover === takeover) throw new SandboxApiError(Errcode.InvalidParameterValue, 'handover_userid equals takeover_userid');

  const now = ctx.nowMs();
  const customer = ids.map((externalUserId) => {
    const errcode = customerErrcode(kind, ctx, handover, externalUserId, now);
    if (errcode === 0) {
      ctx.store.transfers.push({ kind, handover, takeover, externalUserId, requestedAtMs: now, takeoverAtMs: now + TRANSFER_DELAY_MS, status: 2, successMsg });
    }
    return { external_userid: externalUserId, errcode };
  });
  return { customer };
}

function customerErrcode(kind: SandboxTransfer['kind'], ctx: ApiContext, handover: string, externalUserId: string, now: number): number {
  if (!ctx.store.customers.has(externalUserId)) return Errcode.InvalidExternalUserid;
  // "external_userid必须是handover_userid的客户" (docs/wecom-protocol.md §Customer transfers); no relation is 84061
  // (docs/wecom-protocol.md §Error codes).
  if (!ctx.store.findRelation(handover, externalUserId)) return Errcode.NoExternalContactRelation;
  // A customer already waiting for a takeover cannot start a second one; WeCom documents no code, 40058 is the
  // closest documented one.
  if (ctx.store.transfers.some((t) => t.externalUserId === externalUserId && t.status === 2)) return Errcode.InvalidParameterValue;
  if (kind === 'onjob') {
    const recent = ctx.store.transfers.filter((t) => t.kind === 'onjob' && t.externalUserId === externalUserId && now - t.requestedAtMs < ONJOB_WINDOW_MS);
    if (recent.length >= ONJOB_LIMIT) return Errcode.TransferLimitReached;
  }
  return 0;
}

/** transfer_result / resigned/transfer_result: the records between two members, paged by an opaque cursor. */
function results(kind: SandboxTransfer['kind'], req: ApiRequest, ctx: ApiContext): Record<string, unknown> {
  const handover = requireString(req.body, 'handover_userid');
  const takeover = requireString(req.body, 'takeover_userid');
  const rows = ctx.store.transfers.filter((t) => t.kind === kind && t.handover === handover && t.takeover === takeover);
  const offset = decodeCursor(req.body.cursor)?.offset ?? 0;
  const page = rows.slice(offset, offset + RESULT_PAGE);
  return {
    customer: page.map((t) => ({
      external_userid: t.externalUserId,
      status: t.status,
      // "如果是等待接替状态,则为未来的自动接替时间"; the doc's sample answers 0 for a refused customer
      // (docs/wecom-protocol.md §Customer transfers).
      takeover_time: t.status === 1 || t.status === 2 ? Math.floor(t.takeoverAtMs / 1000) : 0,
    })),
    next_cursor: offset + RESULT_PAGE < rows.length ? encodeCursor({ offset: offset + RESULT_PAGE }) : '',
  };
}

/**
 * get_unassigned_list (获取待分配的离职成员列表, docs/wecom-protocol.md §Customer transfers): the customers of members who left
 * that are not handed over yet (none waiting for, or done with, a transfer from that member), oldest departure first, ≤
 * page_size (1000) a page.
 */
function unassigned(req: ApiRequest, ctx: ApiContext): Record<string, unknown> {
  const pageSize = Math.min(Math.max(optionalInt(req.body, 'page_size') ?? 1000, 1), 1000);
  const rows: { handover_userid: string; external_userid: string; dimission_time: number }[] = [];
  const departed = [...ctx.store.staff.values()].filter((m) => m.resignedAtMs !== undefined).sort((a, b) => a.resignedAtMs! - b.resignedAtMs! || a.userid.localeCompare(b.userid));
  for (const m of departed) {
    for (const r of ctx.store.relationsOfUser(m.userid)) {
      if (r.isDeletedByCustomer) continue;
      const handedOver = ctx.store.transfers.some((t) => t.handover === m.userid && t.externalUserId === r.externalUserId && (t.status === 1 || t.status === 2));
      if (!handedOver) rows.push({ handover_userid: m.userid, external_userid: r.externalUserId, dimission_time: Math.floor(m.resignedAtMs! / 1000) });
    }
  }
  const offset = decodeCursor(req.body.cursor)?.offset ?? 0;
  const page = rows.slice(offset, offset + pageSize);
  const isLast = offset + pageSize >= rows.length;
  return { info: page, is_last: isLast, next_cursor: isLast ? '' : encodeCursor({ offset: offset + pageSize }) };
}

/**
 * 在职继承 and 离职继承 (docs/wecom-protocol.md §Customer transfers). Completion after 24 h and the callbacks are the sandbox's
 * (sandbox.ts).
 */
export const transferApis: ApiTable = {
  'externalcontact/transfer_customer': { method: 'POST', auth: 'agent', handle: (req, ctx) => transfer('onjob', req, ctx) },
  'externalcontact/resigned/transfer_customer': { method: 'POST', auth: 'agent', handle: (req, ctx) => transfer('resigned', req, ctx) },
  'externalcontact/transfer_result': { method: 'POST', auth: 'agent', handle: (req, ctx) => results('onjob', req, ctx) },
  'externalcontact/resigned/transfer_result': { method: 'POST', auth: 'agent', handle: (req, ctx) => results('resigned', req, ctx) },
  'externalcontact/get_unassigned_list': { method: 'POST', auth: 'agent', handle: unassigned },
};
