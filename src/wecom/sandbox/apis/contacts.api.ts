import type { ApiContext, ApiTable } from '../api-types.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { assertMaxChars, optionalInt, optionalString, requireString, stringArray } from '../params.js';
import type { SandboxRelation } from '../store.js';
import { presentExternalContact, presentFollowInfo, presentFollowUser } from '../wire.js';

/** The member must exist; WeCom answers 40003 for an unknown userid (docs/wecom-protocol.md §Error codes). */
function requireStaff(ctx: ApiContext, userid: string): void {
  if (!ctx.store.staff.has(userid)) throw new SandboxApiError(Errcode.InvalidUserid, userid);
}

/**
 * The live relation between a member and a customer: unknown customer → 40096, no relation → 84061
 * (docs/wecom-protocol.md §Tagging a customer, §Error codes). A relation the customer deleted is one-way but still
 * served (docs/wecom-protocol.md §Error codes, 84061).
 */
export function requireRelation(ctx: ApiContext, userid: string, externalUserId: string): SandboxRelation {
  requireStaff(ctx, userid);
  if (!ctx.store.customers.has(externalUserId)) throw new SandboxApiError(Errcode.InvalidExternalUserid, externalUserId);
  const relation = ctx.store.findRelation(userid, externalUserId);
  if (!relation) throw new SandboxApiError(Errcode.NoExternalContactRelation);
  return relation;
}

/**
 * Customer-contact reads and per-relation writes (docs/wecom-protocol.md §Staff and customer lists, §Customer details,
 * §Batch customer details, §Remarks, §Tagging a customer).
 */
export const contactApis: ApiTable = {
  'externalcontact/get_follow_user_list': {
    method: 'GET',
    auth: 'agent',
    handle(_req, { store }) {
      return { follow_user: [...store.staff.keys()] };
    },
  },

  'externalcontact/list': {
    method: 'GET',
    auth: 'agent',
    handle(req, ctx) {
      const userid = requireString(req.query, 'userid');
      requireStaff(ctx, userid);
      const ids = ctx.store.relationsOfUser(userid).map((r) => r.externalUserId);
      // "A member with no customers/no relation can return 84061" (docs/wecom-protocol.md §Staff and customer lists).
      if (ids.length === 0) throw new SandboxApiError(Errcode.NoExternalContactRelation);
      return { external_userid: ids };
    },
  },

  'externalcontact/get': {
    method: 'GET',
    auth: 'agent',
    handle(req, ctx) {
      const externalUserId = requireString(req.query, 'external_userid', Errcode.MissingExternalUserid);
      const customer = ctx.store.customers.get(externalUserId);
      if (!customer) throw new SandboxApiError(Errcode.InvalidExternalUserid, externalUserId);
      const followers = ctx.store.relationsOfCustomer(externalUserId);
      if (followers.length === 0) throw new SandboxApiError(Errcode.NoExternalContactRelation);
      // follow_user pages beyond 500 followers (docs/wecom-protocol.md §Customer details); the cursor remembers the
      // last seq served.
      const after = decodeCursor(req.query.cursor)?.seq ?? 0;
      const remaining = followers.filter((r) => r.seq > after);
      const page = remaining.slice(0, ctx.options.followUserPageSize);
      const hasMore = remaining.length > page.length;
      return {
        external_contact: presentExternalContact(customer),
        follow_user: page.map((r) => presentFollowUser(r, ctx.store)),
        next_cursor: hasMore ? encodeCursor({ seq: page[page.length - 1].seq }) : '',
      };
    },
  },

  'externalcontact/batch/get_by_user': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const userids = stringArray(req.body, 'userid_list');
      if (userids.length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'userid_list is required');
      // ≤ 100 members per call (docs/wecom-protocol.md §Batch customer details).
      if (userids.length > 100) throw new SandboxApiError(Errcode.InvalidParameterValue, 'userid_list exceeds 100');
      for (const u of userids) requireStaff(ctx, u);
      // limit defaults to 50 and larger values are clamped to 100 (docs/wecom-protocol.md §Batch customer details).
      const limit = Math.min(Math.max(optionalInt(req.body, 'limit') ?? 50, 1), 100);
      const position = decodeCursor(req.body.cursor) ?? { u: 0, seq: 0 };
      const out: Array<Record<string, unknown>> = [];
      let u = position.u ?? 0;
      let afterSeq = position.seq ?? 0;
      let next = '';
      while (u < userids.length) {
        const rows = ctx.store.relationsOfUser(userids[u]).filter((r) => r.seq > afterSeq);
        let taken = 0;
        for (const r of rows) {
          if (out.length === limit) break;
          const customer = ctx.store.customers.get(r.externalUserId);
          if (customer) {
            out.push({ external_contact: presentExternalContact(customer), follow_info: presentFollowInfo(r, ctx.store) });
          }
          afterSeq = r.seq;
          taken += 1;
        }
        if (out.length === limit) {
          // Only hand out a cursor when something is left, so the last page has an empty next_cursor.
          const hasMoreForUser = taken < rows.length;
          const hasMoreUsers = userids.slice(u + 1).some((x) => ctx.store.relationsOfUser(x).length > 0);
          if (hasMoreForUser) next = encodeCursor({ u, seq: afterSeq });
          else if (hasMoreUsers) next = encodeCursor({ u: u + 1, seq: 0 });
          break;
        }
        u += 1;
        afterSeq = 0;
      }
      return { external_contact_list: out, next_cursor: next };
    },
  },

  'externalcontact/remark': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const userid = requireString(req.body, 'userid');
      const externalUserId = requireString(req.body, 'external_userid', Errcode.MissingExternalUserid);
      const remark = optionalString(req.body, 'remark');
      const description = optionalString(req.body, 'description');
      const remarkCompany = optionalString(req.body, 'remark_company');
      const hasMobiles = req.body.remark_mobiles !== undefined;
      const mobiles = stringArray(req.body, 'remark_mobiles');
      const pic = optionalString(req.body, 'remark_pic_mediaid');
      // Limits from docs/wecom-protocol.md §Remarks.
      assertMaxChars(remark, 20, 'remark');
      assertMaxChars(description, 150, 'description');
      assertMaxChars(remarkCompany, 20, 'remark_company');
      if (remark === undefined && description === undefined && remarkCompany === undefined && !hasMobiles && pic === undefined) {
        throw new SandboxApiError(Errcode.ParameterEmpty, 'nothing to change');
      }
      const relation = requireRelation(ctx, userid, externalUserId);
      if (pic !== undefined && !ctx.store.media.has(pic)) throw new SandboxApiError(Errcode.InvalidMediaId);
      if (remark !== undefined) relation.remark = remark;
      if (description !== undefined) relation.description = description;
      // remark_company only takes effect for WeChat-user customers (docs/wecom-protocol.md §Remarks).
      if (remarkCompany !== undefined && ctx.store.customers.get(externalUserId)?.type === 1) relation.remarkCorpName = remarkCompany;
      // remark_mobiles overwrites; [""] clears all (docs/wecom-protocol.md §Remarks).
      if (hasMobiles) relation.remarkMobiles = mobiles.filter((m) => m !== '');
      return {};
    },
  },

  'externalcontact/mark_tag': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const userid = requireString(req.body, 'userid');
      const externalUserId = requireString(req.body, 'external_userid', Errcode.MissingExternalUserid);
      const add = stringArray(req.body, 'add_tag');
      const remove = stringArray(req.body, 'remove_tag');
      if (add.length === 0 && remove.length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'add_tag and remove_tag are both empty');
      const relation = requireRelation(ctx, userid, externalUserId);
      for (const id of [...add, ...remove]) {
        const tag = ctx.store.findTag(id);
        if (!tag || tag.isDeleted) throw new SandboxApiError(Errcode.InvalidTagId, id);
      }
      // Tags belong to this (member, customer) pair only (docs/wecom-protocol.md §Tagging a customer); no callback for
      // API writes (docs/wecom-protocol.md §Follow relations).
      const next = new Set(relation.tagIds);
      for (const id of add) next.add(id);
      for (const id of remove) next.delete(id);
      relation.tagIds = [...next];
      return {};
    },
  },
};
