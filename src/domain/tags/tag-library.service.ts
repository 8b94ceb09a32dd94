import type { Db } from '../../persistence/db.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { Tag, TagGroup } from './tag.types.js';
import type { CorpTagGroup, WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { AppError, NotFoundError, ValidationError, invalidField } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { DEFAULT_TAG_GROUP, parseTagRef } from './tag-ref.js';

/**
 * Keeps the local tag library in step with WeCom's corp tags
 * (docs/wecom-protocol.md §Corp tag library, §Tag library events) and creates tags on demand. Tag events carry only an
 * id, so every change is handled by re-reading WeCom, which also makes replays harmless.
 */
export class TagLibraryService {
  constructor(
    private readonly db: Db,
    private readonly tags: TagRepository,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The whole library: groups and tags, deleted ones included (the API's view). */
  listLibrary(): ReturnType<TagRepository['listLibrary']> {
    return this.tags.listLibrary();
  }

  /** Upsert groups and tags as WeCom reported them; entries flagged `deleted` are marked deleted. */
  async store(groups: CorpTagGroup[]): Promise<void> {
    const now = this.clock.now().getTime();
    await this.db.tx(async (em) => {
      for (const g of groups) {
        if (g.deleted) {
          await this.tags.markGroupDeletedInTx(em, g.groupId, now);
          continue;
        }
        await this.tags.upsertGroupInTx(em, { id: g.groupId, name: g.groupName, sortOrder: g.order, source: 'wecom' }, now);
        for (const t of g.tags) {
          if (t.deleted) await this.tags.markTagsDeletedInTx(em, [t.id], now);
          else await this.tags.upsertTagInTx(em, { id: t.id, groupId: g.groupId, name: t.name, sortOrder: t.order, source: 'wecom' }, now);
        }
      }
    });
  }

  /**
   * Apply a change_external_tag event (docs/wecom-protocol.md §Tag library events) by re-reading the tag or group. An
   * id WeCom no longer returns is deleted; `shuffle` (order changes, possibly with an empty id) re-reads the whole
   * library.
   */
  async applyTagEvent(e: { id: string | undefined; tagType: string | undefined; changeType: string }): Promise<void> {
    const now = this.clock.now().getTime();
    if (e.changeType === 'shuffle' || !e.id) {
      await this.reconcile();
      return;
    }
    const isGroup = e.tagType === 'tag_group';
    if (e.changeType === 'delete') {
      await this.db.tx((em) => (isGroup ? this.tags.markGroupDeletedInTx(em, e.id!, now) : this.tags.markTagsDeletedInTx(em, [e.id!], now)));
      return;
    }
    const groups = await this.wecom.getCorpTagList(isGroup ? { groupIds: [e.id] } : { tagIds: [e.id] });
    const found = isGroup ? groups.some((g) => g.groupId === e.id && !g.deleted) : groups.some((g) => g.tags.some((t) => t.id === e.id && !t.deleted));
    await this.store(groups);
    if (!found) {
      // Created then deleted before we looked: WeCom's current answer wins over the stale event.
      await this.db.tx((em) => (isGroup ? this.tags.markGroupDeletedInTx(em, e.id!, now) : this.tags.markTagsDeletedInTx(em, [e.id!], now)));
    }
  }

  /**
   * Reconcile both ways: WeCom's library is upserted locally, local WeCom tags WeCom no longer has are marked
   * deleted, and tag names the bot needs (`required`, e.g. from channels and rules) are created in WeCom.
   */
  async reconcile(required: string[] = []): Promise<{ groups: number; tags: number; markedDeleted: number; created: number }> {
    // A tag stored locally after WeCom's list was read (created by a channel or rule meanwhile, or re-read for an event)
    // is missing from the list only because the list is older: it is no evidence of a deletion.
    const listedAt = this.clock.now().getTime();
    const groups = await this.wecom.getCorpTagList();
    await this.store(groups);
    const remoteGroups = new Set(groups.filter((g) => !g.deleted).map((g) => g.groupId));
    const remoteTags = new Set(groups.flatMap((g) => g.tags.filter((t) => !t.deleted).map((t) => t.id)));
    const local = await this.tags.liveWecomIds(listedAt);
    const goneGroups = local.groupIds.filter((id) => !remoteGroups.has(id));
    const goneTags = local.tagIds.filter((id) => !remoteTags.has(id));
    const now = this.clock.now().getTime();
    if (goneGroups.length + goneTags.length > 0) {
      await this.db.tx(async (em) => {
        for (const g of goneGroups) await this.tags.markGroupDeletedInTx(em, g, now);
        await this.tags.markTagsDeletedInTx(em, goneTags, now);
      });
    }
    let created = 0;
    for (const ref of new Set(required)) {
      const before = await this.resolve(ref);
      if (!before) {
        await this.ensureTags([ref]);
        created++;
      }
    }
    return { groups: remoteGroups.size, tags: remoteTags.size, markedDeleted: goneGroups.length + goneTags.length, created };
  }

  /** The live tag a reference names, or null. A WeCom tag wins over a local one of the same name. */
  async resolve(ref: string): Promise<Tag | null> {
    const { group, name } = parseTagRef(ref);
    const found = await this.tags.findLiveByName(name, group ?? undefined);
    if (found.length > 0) return found.find((t) => t.source === 'wecom') ?? found[0];
    // "意向:询价" might be a tag literally named so; try the whole string too.
    if (group) return (await this.tags.findLiveByName(ref.trim()))[0] ?? null;
    return null;
  }

  /**
   * The tags for these references, creating missing ones as WeCom corp tags (add_corp_tag,
   * docs/wecom-protocol.md §Corp tag library), in their named group or in 自动标签. add_corp_tag is not idempotent, so we
   * always look locally first.
   */
  async ensureTags(refs: string[]): Promise<Tag[]> {
    const out: Tag[] = [];
    let isRefreshed = false;
    for (const ref of refs) {
      if (!ref.trim()) throw new ValidationError('标签名不能为空');
      let existing = await this.resolve(ref);
      if (!existing && !isRefreshed) {
        // The local library may lag WeCom (first boot, a tag made in the console): look before creating.
        await this.store(await this.wecom.getCorpTagList());
        isRefreshed = true;
        existing = await this.resolve(ref);
      }
      if (existing) {
        out.push(existing);
        continue;
      }
      const { group, name } = parseTagRef(ref);
      if (name.length > 30 || (group ?? '').length > 30) throw new ValidationError(`标签名过长（最多 30 个字）：${ref}`);
      const groupRow = await this.tags.findLiveGroupByName(group ?? DEFAULT_TAG_GROUP);
      const created =
        groupRow && groupRow.source === 'wecom'
          ? await this.wecom.addCorpTag({ groupId: groupRow.id, tags: [{ name }] })
          : await this.wecom.addCorpTag({ groupName: group ?? DEFAULT_TAG_GROUP, tags: [{ name }] });
      await this.store([created]);
      this.log.info({ groupId: created.groupId }, 'corp tag created');
      const tag = (await this.tags.findByIds(created.tags.filter((t) => t.name === name).map((t) => t.id)))[0];
      if (!tag) throw new Error('add_corp_tag did not return the new tag');
      out.push(tag);
    }
    return out;
  }

  /**
   * The live tags these references name, never creating one (add_corp_tag is not called): for callers who may
   * apply tags but not create them (staff, docs/security.md §Staff tags). The library is refreshed from WeCom once
   * if a name is missing, since a tag made in the admin console may not have reached us yet. Any name still
   * unknown is a 400 `unknown_tag` listing all of them.
   */
  async existingTags(refs: string[]): Promise<Tag[]> {
    const found = new Map<string, Tag | null>();
    for (const ref of refs) found.set(ref, await this.resolve(ref));
    if ([...found.values()].some((t) => !t)) {
      await this.store(await this.wecom.getCorpTagList());
      for (const [ref, t] of found) if (!t) found.set(ref, await this.resolve(ref));
    }
    const unknown = [...found].filter(([, t]) => !t).map(([ref]) => ref.trim());
    if (unknown.length > 0) {
      throw new ValidationError(
        `标签${unknown.map((r) => `「${r}」`).join('、')}不存在，请联系运营人员创建 / unknown tag: ${unknown.join(', ')} (ask an operator to create it)`,
        { unknown },
        'unknown_tag',
      );
    }
    return refs.map((ref) => found.get(ref)!);
  }

  /** Create a tag for the console: a WeCom corp tag, or a local-only tag when `isLocal`. */
  async createTag(input: { group?: string; name: string; isLocal?: boolean }): Promise<Tag> {
    const ref = input.group ? `${input.group}/${input.name}` : input.name;
    if (!input.isLocal) return (await this.ensureTags([ref]))[0];
    const existing = await this.tags.findLiveByName(input.name, input.group ?? DEFAULT_TAG_GROUP);
    if (existing[0]) return existing[0];
    const now = this.clock.now().getTime();
    const groupName = input.group ?? DEFAULT_TAG_GROUP;
    const group = (await this.tags.findLiveGroupByName(groupName)) ?? { id: `lg_${newId(now)}`, name: groupName, sortOrder: 0, source: 'local' as const };
    const id = `lt_${newId(now)}`;
    await this.db.tx(async (em) => {
      await this.tags.upsertGroupInTx(em, { id: group.id, name: group.name, sortOrder: group.sortOrder, source: group.source }, now);
      await this.tags.upsertTagInTx(em, { id, groupId: group.id, name: input.name, sortOrder: 0, source: 'local' }, now);
    });
    return (await this.tags.findByIds([id]))[0];
  }

  /** A live tag by id, or NotFoundError. */
  async liveTag(id: string): Promise<Tag> {
    const tag = (await this.tags.findByIds([id]))[0];
    if (!tag || tag.deletedAt !== null) throw new NotFoundError(`标签不存在：${id}`, 'tag_not_found');
    return tag;
  }

  /** How many customers carry the tag (what deleting it takes away). */
  customerCount(tagId: string): Promise<number> {
    return this.tags.countCustomersWithTag(tagId);
  }

  /** Customers carrying each of these tags (a tag no customer has counts 0), in one grouped read. */
  async customerCounts(tagIds: string[]): Promise<Record<string, number>> {
    const ids = [...new Set(tagIds)];
    const found = await this.tags.countCustomersByTag(ids);
    return Object.fromEntries(ids.map((id) => [id, found.get(id) ?? 0]));
  }

  /**
   * Rename a tag. A WeCom tag is renamed in WeCom first (edit_corp_tag, docs/wecom-protocol.md §Corp tag library), so
   * the library never shows a name WeCom refused; a local tag only here. Names are unique within a group.
   */
  async renameTag(id: string, name: string): Promise<{ before: Tag; after: Tag }> {
    const before = await this.liveTag(id);
    const trimmed = name.trim();
    if (!trimmed) throw invalidField('name', '请填写标签名称');
    if (trimmed.length > 30) throw invalidField('name', '标签名称不超过 30 个字');
    if (trimmed === before.name) return { before, after: before };
    const clash = (await this.tags.findLiveByName(trimmed, before.groupName)).some((t) => t.id !== id && t.groupId === before.groupId);
    if (clash) throw invalidField('name', `标签组「${before.groupName}」中已有标签「${trimmed}」`);
    if (before.source === 'wecom') await this.wecom.editCorpTag({ id, name: trimmed });
    const now = this.clock.now().getTime();
    await this.db.tx((em) => this.tags.upsertTagInTx(em, { id, groupId: before.groupId, name: trimmed, sortOrder: before.sortOrder, source: before.source }, now));
    return { before, after: (await this.tags.findByIds([id]))[0] };
  }

  /**
   * Delete a tag. A WeCom tag is deleted in WeCom first (del_corp_tag, docs/wecom-protocol.md §Corp tag library), which
   * takes it off every customer there; here it is marked deleted, so reads stop listing it on customers.
   */
  async deleteTag(id: string): Promise<Tag> {
    const tag = await this.liveTag(id);
    if (tag.source === 'wecom') await this.wecom.delCorpTag({ tagIds: [id] });
    const now = this.clock.now().getTime();
    await this.db.tx((em) => this.tags.markTagsDeletedInTx(em, [id], now));
    this.log.info({ tagId: id, source: tag.source }, 'tag deleted');
    return tag;
  }

  /** A live group by id, or NotFoundError. */
  async liveGroup(id: string): Promise<TagGroup> {
    const group = await this.tags.findGroupById(id);
    if (!group || group.deletedAt !== null) throw new NotFoundError(`标签组不存在：${id}`, 'tag_group_not_found');
    return group;
  }

  /** A group's live tags, and the customers carrying at least one of them (each customer once). */
  async groupReach(id: string): Promise<{ tags: number; customers: number }> {
    return { tags: (await this.tags.liveTagIdsOfGroup(id)).length, customers: await this.tags.countCustomersInGroup(id) };
  }

  /**
   * Rename a group. edit_corp_tag takes a group id as well as a tag id (docs/wecom-protocol.md §Corp tag library), so a
   * WeCom group is renamed there first and the library never shows a name WeCom refused; a local group only here.
   * Group names are unique among live groups: add_corp_tag with an existing group's name adds to that group, and tag
   * references (`组/标签`) name groups by name, so two live groups of one name would make both ambiguous.
   */
  async renameGroup(id: string, name: string): Promise<{ before: TagGroup; after: TagGroup }> {
    const before = await this.liveGroup(id);
    const trimmed = name.trim();
    if (!trimmed) throw invalidField('name', '请填写标签组名称');
    if (trimmed.length > 30) throw invalidField('name', '标签组名称不超过 30 个字');
    if (trimmed === before.name) return { before, after: before };
    const other = await this.tags.findLiveGroupByName(trimmed);
    if (other && other.id !== id) {
      const message = `已有标签组「${trimmed}」`;
      throw new AppError(409, 'tag_group_exists', message, true, { fields: { name: message } });
    }
    if (before.source === 'wecom') await this.wecom.editCorpTag({ id, name: trimmed });
    const now = this.clock.now().getTime();
    await this.db.tx((em) => this.tags.upsertGroupInTx(em, { id, name: trimmed, sortOrder: before.sortOrder, source: before.source }, now));
    return { before, after: (await this.tags.findGroupById(id))! };
  }

  /**
   * Delete a group and all its tags. A WeCom group is deleted in WeCom first (del_corp_tag with `group_id`,
   * docs/wecom-protocol.md §Corp tag library), which deletes its tags and takes them off every customer there; here the
   * group and its tags are marked deleted, as a tag delete does. Answers what it touched, counted before the delete.
   */
  async deleteGroup(id: string): Promise<{ group: TagGroup; tags: number; customers: number }> {
    const group = await this.liveGroup(id);
    const { tags, customers } = await this.groupReach(id);
    if (group.source === 'wecom') await this.wecom.delCorpTag({ groupIds: [id] });
    const now = this.clock.now().getTime();
    await this.db.tx((em) => this.tags.markGroupDeletedInTx(em, id, now));
    this.log.info({ groupId: id, source: group.source, tags, customers }, 'tag group deleted');
    return { group, tags, customers };
  }

  /**
   * Make sure these WeCom tag ids are known locally and live. A relation may carry a tag created since the last sync;
   * and a relation WeCom reports with a tag we hold as deleted is evidence our copy is stale (a library re-read that
   * raced with an edit, a delete event for a tag re-created since), so those ids are re-read too. Otherwise the
   * customer would keep the link but show without the tag (reads list live tags only) until the next full sync.
   */
  async ensureKnown(tagIds: string[]): Promise<void> {
    if (tagIds.length === 0) return;
    const known = new Set((await this.tags.findByIds(tagIds)).filter((t) => t.deletedAt === null).map((t) => t.id));
    const missing = tagIds.filter((id) => !known.has(id));
    if (missing.length > 0) await this.store(await this.wecom.getCorpTagList({ tagIds: missing }));
  }
}
