import type { GroupWelcomeTemplateRepository } from '../../persistence/repositories/group-welcome-template.repository.js';
import type { GroupWelcomeTemplateInput, WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { AppError, ConflictError, ValidationError, WecomApiError, invalidField, toError } from '../../shared/errors.js';
import { listVariables, renderTemplate } from '../../shared/template.js';
import type { GroupContentPort } from '../group-broadcasts/group-broadcast.types.js';
import { newId } from '../../shared/ids.js';
import { describeWecomFailure } from './wecom-failure.js';
import type { GroupWelcomeAttachments, GroupWelcomeTemplate } from './group-code.types.js';

/** A group welcome template as the API takes it (docs/groups.md §Group welcome templates). */
export interface GroupWelcomeInput {
  name: string;
  text: string;
  attachments: GroupWelcomeAttachments;
  /** 素材库 items: text items join the text, the others fill the attachment of their kind. */
  contentIds: string[];
  notify: boolean;
}

/** A corp holds at most 100 group welcome templates (docs/wecom-protocol.md §Group welcome templates). */
export const GROUP_WELCOME_LIMIT = 100;
/** text.content ≤ 3000 bytes (docs/wecom-protocol.md §Group welcome templates). */
export const GROUP_WELCOME_TEXT_BYTES = 3000;

/** Each attachment kind in words, for the one-per-kind refusal. */
const KIND_WORDS: Record<keyof GroupWelcomeAttachments, string> = { image: '图片', link: '链接', miniprogram: '小程序', file: '文件', video: '视频' };
/**
 * A text item's variables in a group welcome: the joiner's name is WeCom's %NICKNAME%; nothing else is known when a
 * template greets someone (docs/wecom-protocol.md §Group welcome templates).
 */
const WELCOME_VARS: Record<string, string> = { name: '%NICKNAME%', 姓名: '%NICKNAME%' };

/**
 * Starts the reason of a template parked because a 素材库 item's media was not ready: after each refresh the
 * content-media job retries exactly those (docs/groups.md §Group welcome templates).
 */
export const WAITING_FOR_CONTENT = '等待素材：';
/** The reason a retry's claim writes while it runs; a crash leaves it there, 重试-able again after RETRY_STALE_MS. */
const RETRYING = '正在重试…';
/** A retry claimed this long ago that never recorded its outcome died with its process: it may be claimed again. */
const RETRY_STALE_MS = 2 * 60_000;

/** WeCom's refusals the form can fix (docs/wecom-protocol.md §Group welcome templates). */
const REFUSED: Record<number, [field: string, message: string]> = {
  40058: ['text', '企业微信拒绝了该欢迎语（错误码 40058）：请检查文字长度（最多 3000 字节）与附件标题长度，或素材是否已满 100 条'],
  40063: ['text', '请填写欢迎语文字或至少一个附件'],
  40007: ['attachments', '附件的素材 ID 无效或已过期（错误码 40007）：素材 ID 3 天后失效，请重新上传'],
};


/**
 * 入群欢迎语 templates (docs/groups.md §Group welcome templates), kept in WeCom's library within its limits, checked
 * here first so the operator reads a zh-CN reason instead of an errcode. WeCom attaches a template to no code and no
 * group: each group's owner chooses one in the client, and `notify` tells members a new one is there.
 */
export class GroupWelcomeService {
  constructor(
    private readonly templates: GroupWelcomeTemplateRepository,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly content?: GroupContentPort,
  ) {}

  /** Every template, newest first. */
  list(): Promise<GroupWelcomeTemplate[]> {
    return this.templates.list();
  }

  /** One template or NotFoundError. */
  get(id: string): Promise<GroupWelcomeTemplate> {
    return this.templates.get(id);
  }

  /** Add a template to WeCom's library; a failure WeCom's answer cannot explain parks it (status failed). */
  async create(input: GroupWelcomeInput): Promise<GroupWelcomeTemplate> {
    await this.validate(input);
    if ((await this.templates.count()) >= GROUP_WELCOME_LIMIT) throw new ConflictError(`每个企业最多 ${GROUP_WELCOME_LIMIT} 条入群欢迎语，请先删除不用的`, 'group_welcome_limit');
    const now = this.clock.now();
    const t: GroupWelcomeTemplate = { id: newId(now.getTime()), ...input, templateId: null, status: 'pending', lastError: null, createdAt: now, updatedAt: now };
    await this.templates.insert(t);
    return this.submit(t, { isNew: true });
  }

  /**
   * Try a parked template again. The retry claims the row first (its reason, compare-and-set), so an operator's 重试
   * and the media job's retry never both add it to WeCom's library.
   */
  async retry(id: string): Promise<GroupWelcomeTemplate> {
    const t = await this.templates.get(id);
    if (t.status !== 'failed') return t;
    if (!(await this.claimRetry(t))) return this.templates.get(id);
    return this.submit(t, { isNew: false });
  }

  /**
   * Parked templates that waited for a 素材库 item's media, tried again: the content-media job calls this after its
   * refresh, so a template goes live without an operator's 重试 once its media is fresh. An item still not ready parks it
   * again with the reason; any other failure keeps its reason and waits for an operator.
   */
  async retryWaitingForContent(): Promise<{ retried: number; live: number }> {
    let retried = 0;
    let live = 0;
    for (const t of await this.templates.list()) {
      if (t.status !== 'failed' || !t.lastError?.startsWith(WAITING_FOR_CONTENT)) continue;
      if (!(await this.claimRetry(t))) continue;
      retried += 1;
      const out = await this.submit(t, { isNew: false }).catch((err: unknown) => {
        this.log.warn({ templateId: t.id, err: toError(err).message }, 'group welcome template retried after the media refresh and refused; kept for the operator');
        return null;
      });
      if (out?.status === 'active') live += 1;
    }
    return { retried, live };
  }

  /** Replace a template's content; a live one is edited in WeCom first. */
  async update(id: string, changes: Partial<GroupWelcomeInput>): Promise<GroupWelcomeTemplate> {
    const current = await this.templates.get(id);
    const next: GroupWelcomeTemplate = { ...current, ...changes, updatedAt: this.clock.now() };
    await this.validate(next);
    if (current.status === 'active' && current.templateId) {
      // The whole content goes again, text included (empty clears it), so WeCom holds what the form shows. Items not
      // ready answer 409 and nothing changes: the form keeps the operator's edit to save again.
      const content = await this.compose(next);
      await this.refusal(() => this.wecom.editGroupWelcomeTemplate(current.templateId!, content));
      // Only items the edit put in: those already in the template were counted when they went in.
      await this.countUse(next.contentIds.filter((id) => !current.contentIds.includes(id)));
    }
    await this.templates.update(next);
    return next;
  }

  /** Remove a template from WeCom's library and here. */
  async remove(id: string): Promise<void> {
    const t = await this.templates.get(id);
    if (t.templateId) {
      try {
        await this.wecom.delGroupWelcomeTemplate(t.templateId);
      } catch (err) {
        // 40058: WeCom no longer knows it.
        if (!(err instanceof WecomApiError && err.errcode === 40058)) throw err;
      }
    }
    await this.templates.delete(id);
  }

  /** Take a parked template for one retry; false while another retry runs (its claim is younger than RETRY_STALE_MS) or took it first. */
  private async claimRetry(t: GroupWelcomeTemplate): Promise<boolean> {
    const now = this.clock.now();
    if (t.lastError === RETRYING && now.getTime() - t.updatedAt.getTime() < RETRY_STALE_MS) return false;
    return this.templates.claimRetry(t, RETRYING, now);
  }

  private async submit(t: GroupWelcomeTemplate, opts: { isNew: boolean }): Promise<GroupWelcomeTemplate> {
    try {
      const content = await this.compose(t);
      const { templateId } = await this.refusal(() => this.wecom.addGroupWelcomeTemplate({ ...content, notify: t.notify }));
      const live: GroupWelcomeTemplate = { ...t, templateId, status: 'active', lastError: null, updatedAt: this.clock.now() };
      await this.templates.update(live);
      await this.countUse(t.contentIds);
      return live;
    } catch (err) {
      if (err instanceof ValidationError) {
        if (opts.isNew) await this.templates.delete(t.id);
        else await this.templates.update({ ...t, lastError: err.message.slice(0, 500), updatedAt: this.clock.now() });
        throw err;
      }
      // An item not ready yet is parked like a WeCom failure, its reason kept and marked: the media job's next refresh
      // retries it (retryWaitingForContent), and 重试 works too.
      const notReady = err instanceof AppError && err.code === 'content_not_ready';
      this.log.warn({ templateId: t.id, err: toError(err).message }, 'group welcome template not created in WeCom; parked');
      const parked: GroupWelcomeTemplate = { ...t, status: 'failed', lastError: notReady ? `${WAITING_FOR_CONTENT}${toError(err).message}`.slice(0, 500) : describeWecomFailure(err), updatedAt: this.clock.now() };
      await this.templates.update(parked);
      return parked;
    }
  }

  /**
   * What WeCom gets: the text followed by the text items' (name → %NICKNAME%), the own attachments and the items', one
   * of each kind (validate made sure). Items come from cached media only: writing a template never uploads, and an
   * item not ready is refused (409, content_not_ready) (docs/content.md §Media lifecycle).
   */
  private async compose(t: GroupWelcomeInput): Promise<GroupWelcomeTemplateInput> {
    const a: GroupWelcomeAttachments = { ...t.attachments };
    let text = t.text;
    if (t.contentIds.length > 0) {
      if (!this.content) throw invalidField('contentIds', '本实例未启用素材库', 'content_unavailable');
      const extra = await this.content.resolve(t.contentIds, this.clock.now(), WELCOME_VARS);
      text = [text, extra.text].filter(Boolean).join('\n\n');
      for (const x of extra.attachments) {
        if (x.kind === 'image') a.image = { picUrl: x.picUrl ?? '' };
        else if (x.kind === 'link') a.link = { title: x.title, url: x.url, ...(x.desc ? { desc: x.desc } : {}), ...(x.picUrl ? { picUrl: x.picUrl } : {}) };
        else if (x.kind === 'miniprogram') a.miniprogram = { title: x.title, picMediaId: x.picMediaId, appId: x.appId, page: x.page };
        else a[x.kind] = { mediaId: x.mediaId };
      }
    }
    return {
      text,
      image: a.image && { picUrl: a.image.picUrl },
      link: a.link,
      miniprogram: a.miniprogram,
      file: a.file,
      video: a.video,
    };
  }

  /**
   * One use of each item when it goes into the template in WeCom: WeCom then sends the template to each member who
   * joins, unseen by the bot, so that is the one message the bot plans (docs/content.md §Use counts). A lost count
   * fails nothing.
   */
  private async countUse(ids: string[]): Promise<void> {
    if (ids.length === 0 || !this.content) return;
    await this.content.countUse(ids, 1);
  }

  /**
   * Text ≤ 3000 bytes (UTF-8) with the text items' texts, at most one attachment of each kind with the items', and not
   * everything empty (docs/wecom-protocol.md §Group welcome templates).
   */
  private async validate(t: GroupWelcomeInput): Promise<void> {
    const own = (Object.keys(KIND_WORDS) as (keyof GroupWelcomeAttachments)[]).filter((k) => t.attachments[k] !== undefined);
    const texts: string[] = [];
    let kinds: string[] = [];
    if (t.contentIds.length > 0) {
      if (!this.content) throw invalidField('contentIds', '本实例未启用素材库', 'content_unavailable');
      let items: { kind: string; title: string; text: string | null }[];
      try {
        items = await this.content.check(t.contentIds, own.length);
      } catch (err) {
        if (err instanceof AppError && err.status === 400) throw invalidField('contentIds', err.message, err.code);
        throw err;
      }
      for (const item of items.filter((i) => i.kind === 'text')) {
        const unknown = listVariables(item.text ?? '').filter((v) => !Object.hasOwn(WELCOME_VARS, v));
        if (unknown.length > 0) throw invalidField('contentIds', `素材「${item.title}」含变量 {{${unknown[0]}}}：入群欢迎语只能用 {{name}}（入群者的昵称）`, 'unknown_variable');
        texts.push(renderTemplate(item.text ?? '', WELCOME_VARS));
      }
      kinds = items.filter((i) => i.kind !== 'text').map((i) => i.kind);
    }
    for (const kind of Object.keys(KIND_WORDS) as (keyof GroupWelcomeAttachments)[]) {
      const n = (own.includes(kind) ? 1 : 0) + kinds.filter((k) => k === kind).length;
      if (n > 1) throw invalidField('contentIds', `入群欢迎语每种附件最多 1 个（企业微信规则），现在有 ${n} 个${KIND_WORDS[kind]}`, 'too_many_attachments');
    }
    const text = [t.text, ...texts].filter(Boolean).join('\n\n');
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > GROUP_WELCOME_TEXT_BYTES) {
      const what = texts.length > 0 ? '欢迎语文字与所选话术素材合计' : '欢迎语文字';
      throw invalidField(texts.length > 0 ? 'contentIds' : 'text', `${what}最多 ${GROUP_WELCOME_TEXT_BYTES} 字节（约 1000 个汉字），现在是 ${bytes} 字节`);
    }
    if (!text.trim() && own.length === 0 && kinds.length === 0) throw invalidField('text', '请填写欢迎语文字或至少一个附件');
  }

  private async refusal<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const refused = err instanceof WecomApiError ? REFUSED[err.errcode] : undefined;
      if (refused) throw invalidField(refused[0], refused[1]);
      throw err;
    }
  }
}
