import type { GroupWelcomeTemplateRepository } from '../../persistence/repositories/group-welcome-template.repository.js';
import type { GroupWelcomeTemplateInput, WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { ConflictError, ValidationError, WecomApiError, invalidField, toError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { describeWecomFailure } from './wecom-failure.js';
import type { GroupWelcomeAttachments, GroupWelcomeTemplate } from './group-code.types.js';

/** A group welcome template as the API takes it (docs/groups.md §Group welcome templates). */
export interface GroupWelcomeInput {
  name: string;
  text: string;
  attachments: GroupWelcomeAttachments;
  notify: boolean;
}

/** A corp holds at most 100 group welcome templates (docs/wecom-protocol.md §Group welcome templates). */
export const GROUP_WELCOME_LIMIT = 100;
/** text.content ≤ 3000 bytes (docs/wecom-protocol.md §Group welcome templates). */
export const GROUP_WELCOME_TEXT_BYTES = 3000;

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
    this.validate(input);
    if ((await this.templates.count()) >= GROUP_WELCOME_LIMIT) throw new ConflictError(`每个企业最多 ${GROUP_WELCOME_LIMIT} 条入群欢迎语，请先删除不用的`, 'group_welcome_limit');
    const now = this.clock.now();
    const t: GroupWelcomeTemplate = { id: newId(now.getTime()), ...input, templateId: null, status: 'pending', lastError: null, createdAt: now, updatedAt: now };
    await this.templates.insert(t);
    return this.submit(t, { isNew: true });
  }

  /** Try a parked template again. */
  async retry(id: string): Promise<GroupWelcomeTemplate> {
    const t = await this.templates.get(id);
    if (t.status !== 'failed') return t;
    return this.submit(t, { isNew: false });
  }

  /** Replace a template's content; a live one is edited in WeCom first. */
  async update(id: string, changes: Partial<GroupWelcomeInput>): Promise<GroupWelcomeTemplate> {
    const current = await this.templates.get(id);
    const next: GroupWelcomeTemplate = { ...current, ...changes, updatedAt: this.clock.now() };
    this.validate(next);
    if (current.status === 'active' && current.templateId) {
      // The whole content goes again, text included (empty clears it), so WeCom holds what the form shows.
      await this.refusal(() => this.wecom.editGroupWelcomeTemplate(current.templateId!, this.content(next)));
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

  private async submit(t: GroupWelcomeTemplate, opts: { isNew: boolean }): Promise<GroupWelcomeTemplate> {
    try {
      const { templateId } = await this.refusal(() => this.wecom.addGroupWelcomeTemplate({ ...this.content(t), notify: t.notify }));
      const live: GroupWelcomeTemplate = { ...t, templateId, status: 'active', lastError: null, updatedAt: this.clock.now() };
      await this.templates.update(live);
      return live;
    } catch (err) {
      if (err instanceof ValidationError) {
        if (opts.isNew) await this.templates.delete(t.id);
        else await this.templates.update({ ...t, lastError: err.message.slice(0, 500), updatedAt: this.clock.now() });
        throw err;
      }
      this.log.warn({ templateId: t.id, err: toError(err).message }, 'group welcome template not created in WeCom; parked');
      const parked: GroupWelcomeTemplate = { ...t, status: 'failed', lastError: describeWecomFailure(err), updatedAt: this.clock.now() };
      await this.templates.update(parked);
      return parked;
    }
  }

  private content(t: GroupWelcomeInput): GroupWelcomeTemplateInput {
    const a = t.attachments;
    return {
      text: t.text,
      image: a.image && { picUrl: a.image.picUrl },
      link: a.link,
      miniprogram: a.miniprogram,
      file: a.file,
      video: a.video,
    };
  }

  /** Text ≤ 3000 bytes (UTF-8) and not everything empty (docs/wecom-protocol.md §Group welcome templates). */
  private validate(t: GroupWelcomeInput): void {
    const bytes = Buffer.byteLength(t.text, 'utf8');
    if (bytes > GROUP_WELCOME_TEXT_BYTES) throw invalidField('text', `欢迎语文字最多 ${GROUP_WELCOME_TEXT_BYTES} 字节（约 1000 个汉字），现在是 ${bytes} 字节`);
    if (!t.text.trim() && Object.values(t.attachments).every((v) => v === undefined)) throw invalidField('text', '请填写欢迎语文字或至少一个附件');
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
