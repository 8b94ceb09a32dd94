import type { SandboxContactWay, SandboxCustomer, SandboxRelation, SandboxStore, SandboxTagGroup } from './store.js';
import { qrImageUrl } from './contact-way-qr.js';

/** Presenters from sandbox state to WeCom's wire JSON (snake_case stays in src/wecom, STYLE "Naming"). */

/** `external_contact` of externalcontact/get and batch/get_by_user (docs/wecom-protocol.md §Customer details). */
export function presentExternalContact(c: SandboxCustomer): Record<string, unknown> {
  const out: Record<string, unknown> = {
    external_userid: c.externalUserId,
    name: c.name,
    avatar: c.avatar,
    type: c.type,
    gender: c.gender,
  };
  if (c.position) out.position = c.position;
  // corp_name / corp_full_name only exist for WeCom-user customers (type 2), docs/wecom-protocol.md §Customer details.
  if (c.type === 2 && c.corpName) out.corp_name = c.corpName;
  if (c.type === 2 && c.corpFullName) out.corp_full_name = c.corpFullName;
  if (c.unionid) out.unionid = c.unionid;
  return out;
}

/**
 * `follow_user[]` of externalcontact/get, with tags expanded to group/tag names
 * (docs/wecom-protocol.md §Customer details).
 */
export function presentFollowUser(r: SandboxRelation, store: SandboxStore): Record<string, unknown> {
  const tags = r.tagIds.flatMap((id) => {
    const tag = store.findTag(id);
    if (!tag || tag.isDeleted) return [];
    const group = store.findTagGroup(tag.groupId);
    return [{ group_name: group?.name ?? '', tag_name: tag.name, tag_id: tag.id, type: 1 }];
  });
  const out: Record<string, unknown> = {
    userid: r.userid,
    remark: r.remark,
    description: r.description,
    createtime: r.createtime,
    tags,
  };
  if (r.remarkCorpName) out.remark_corp_name = r.remarkCorpName;
  out.remark_mobiles = [...r.remarkMobiles];
  out.oper_userid = r.operUserid;
  out.add_way = r.addWay;
  if (r.state) out.state = r.state;
  return out;
}

/**
 * `follow_info` of batch/get_by_user: tag ids only, no personal tags (docs/wecom-protocol.md §Batch customer details).
 */
export function presentFollowInfo(r: SandboxRelation, store: SandboxStore): Record<string, unknown> {
  const out: Record<string, unknown> = {
    userid: r.userid,
    remark: r.remark,
    description: r.description,
    createtime: r.createtime,
    tag_id: r.tagIds.filter((id) => store.findTag(id)?.isDeleted === false),
  };
  if (r.remarkCorpName) out.remark_corp_name = r.remarkCorpName;
  out.remark_mobiles = [...r.remarkMobiles];
  out.oper_userid = r.operUserid;
  out.add_way = r.addWay;
  if (r.state) out.state = r.state;
  return out;
}

/** One `tag_group` entry; `deleted` only when the caller filtered by id (docs/wecom-protocol.md §Corp tag library). */
export function presentTagGroup(
  g: SandboxTagGroup,
  opts: { withDeleted: boolean; tagIds?: ReadonlySet<string> },
): Record<string, unknown> {
  const tags = g.tags
    .filter((t) => (opts.tagIds ? opts.tagIds.has(t.id) : !t.isDeleted))
    .filter((t) => opts.withDeleted || !t.isDeleted)
    .sort((a, b) => b.order - a.order) // larger order sorts first (docs/wecom-protocol.md §Corp tag library)
    .map((t) => ({
      id: t.id,
      name: t.name,
      create_time: t.createTime,
      order: t.order,
      ...(opts.withDeleted ? { deleted: t.isDeleted } : {}),
    }));
  return {
    group_id: g.groupId,
    group_name: g.name,
    create_time: g.createTime,
    order: g.order,
    ...(opts.withDeleted ? { deleted: g.isDeleted } : {}),
    tag: tags,
  };
}

/** `contact_way` of get_contact_way (docs/wecom-protocol.md §Contact ways); `baseUrl` as ApiContext's. */
export function presentContactWay(w: SandboxContactWay, baseUrl: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    config_id: w.configId,
    type: w.type,
    scene: w.scene,
  };
  if (w.style !== undefined) out.style = w.style;
  out.remark = w.remark;
  out.skip_verify = w.skipVerify;
  if (w.state !== undefined) out.state = w.state;
  if (w.scene === 2) out.qr_code = qrImageUrl(baseUrl, w.configId);
  out.user = [...w.user];
  out.party = [...w.party];
  out.is_temp = w.isTemp;
  if (w.isTemp) {
    out.expires_in = w.expiresIn ?? 7 * 86400;
    out.chat_expires_in = w.chatExpiresIn ?? 86400;
  }
  if (w.unionid) out.unionid = w.unionid;
  if (w.conclusions !== undefined) out.conclusions = w.conclusions;
  return out;
}
