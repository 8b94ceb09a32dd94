import type { RenameTx, StaffRenameRepository } from '../../persistence/repositories/staff-rename.repository.js';
import { aad } from '../../persistence/sealed-columns.js';
import type { FieldCipher } from '../../shared/field-cipher.js';
import type { Logger } from '../../shared/logger.js';

/** Rows moved to the new userid, per table. */
export type RenameCounts = Record<string, number>;

/**
 * A member's account (userid) changed in WeCom, which an admin may do once per member (change_contact update_user
 * with NewUserID, docs/wecom-protocol.md §Member events). WeCom's APIs answer with the new userid from then on, so
 * every row the bot keeps under the old one moves to the new one, in one transaction:
 *
 * - without it, the member's relations stayed `active` under the old userid for good (the nightly sync only
 *   reconciles members WeCom still lists), care messages planned the old userid as sender and WeCom refused them,
 *   and the sync added every customer a second time under the new userid;
 * - remark mobiles are sealed with the userid in their AAD, so they are re-sealed under the new one;
 * - where the new userid already has a row (a sync ran first), the new row wins and the old one is dropped.
 *
 * Audience expressions that name the old userid (`owner:…` in care rules, broadcasts, tag rules) are text the
 * operator wrote; they are listed in the log rather than rewritten.
 */
export class StaffRenameService {
  constructor(
    private readonly repo: StaffRenameRepository,
    private readonly cipher: FieldCipher,
    private readonly log: Logger,
  ) {}

  async rename(from: string, to: string, now: number): Promise<RenameCounts> {
    if (from === to) return {};
    const counts = await this.repo.inTx(async (tx) => {
      const c: RenameCounts = {};
      c.staff = (await this.repo.staffExists(tx, to)) ? await this.repo.deleteStaff(tx, from) : await this.repo.renameStaff(tx, from, to, now);
      c.follow_relations = await this.moveRelations(tx, from, to, now);
      // Per-relation tags: a row the new userid already has wins.
      c.customer_tags = await this.repo.moveCustomerTags(tx, from, to);
      Object.assign(c, await this.repo.moveUseridColumns(tx, from, to));
      // Group membership spells of the member; a chat where both are in keeps the new one.
      c.group_memberships = await this.repo.moveGroupMemberships(tx, from, to);
      c.channels = await this.moveChannelStaff(tx, from, to, now);
      // Remembered: sessions signed for the old userid before now are refused (StaffAccessService.checkSession).
      await this.repo.rememberRename(tx, from, to, now);
      return c;
    });
    const moved = Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
    this.log.info({ from, to, moved }, 'member userid changed in WeCom; the archive follows');
    const rules = await this.rulesNaming(from);
    if (rules.length > 0) this.log.warn({ from, to, rules }, 'audience expressions still name the old userid; edit them to use the new one');
    return moved;
  }

  /** Relations: re-keyed, remark mobiles re-sealed under the new AAD; an existing new-userid relation wins. */
  private async moveRelations(tx: RenameTx, from: string, to: string, now: number): Promise<number> {
    let moved = 0;
    for (const r of await this.repo.relationsOf(tx, from)) {
      if (await this.repo.relationExists(tx, to, r.externalUserId)) {
        await this.repo.deleteRelation(tx, r.id);
        continue;
      }
      const mobiles = r.remarkMobilesEnc
        ? this.cipher.encrypt(this.cipher.decrypt(r.remarkMobilesEnc, aad.remarkMobiles(from, r.externalUserId)), aad.remarkMobiles(to, r.externalUserId))
        : null;
      moved += await this.repo.moveRelation(tx, r.id, to, mobiles, now);
    }
    await this.repo.moveRelationOperator(tx, from, to);
    return moved;
  }

  /** Channel codes list their staff as a JSON array of userids. */
  private async moveChannelStaff(tx: RenameTx, from: string, to: string, now: number): Promise<number> {
    let moved = 0;
    for (const r of await this.repo.channelsNaming(tx, from)) {
      if (!r.staff.includes(from)) continue;
      const next = [...new Set(r.staff.map((u) => (u === from ? to : u)))];
      moved += await this.repo.setChannelStaff(tx, r.id, next, now);
    }
    return moved;
  }

  /** Care rules, broadcasts and tag rules whose audience names the userid. */
  private async rulesNaming(userid: string): Promise<string[]> {
    const { careRules, broadcasts, tagRules } = await this.repo.audiencesNaming(userid);
    return [...careRules.map((n) => `care rule ${n}`), ...broadcasts.map((n) => `broadcast ${n}`), ...tagRules.map((n) => `tag rule ${n}`)];
  }
}
