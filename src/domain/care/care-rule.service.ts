import { z } from 'zod';
import type { Clock } from '../../shared/clock.js';
import { AppError, ConflictError, invalidField } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import type { CareRuleRepository } from '../../persistence/repositories/care-rule.repository.js';
import { parseAudience } from '../audiences/index.js';
import { HOLIDAYS } from './occasions.js';
import type { CareRule, CareRuleInput } from './care-rule.types.js';
import { careRulePatch } from './care-rule.schema.js';

/** A PATCH body. */
export type CareRulePatch = z.infer<typeof careRulePatch>;

/** Create, edit and list care and win-back rules; seeds the defaults from config/care-rules.json. */
export class CareRuleService {
  constructor(
    private readonly repo: CareRuleRepository,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** 素材库's save-time check of `contentIds` (unknown items, more than 9 attachments in all); absent: none allowed. */
    private readonly checkContent?: (ids: string[], extraAttachments: number) => Promise<unknown>,
  ) {}

  /** Every rule, highest priority first. */
  list(): Promise<CareRule[]> {
    return this.repo.list();
  }

  /** One rule, or NotFoundError. */
  get(id: string): Promise<CareRule> {
    return this.repo.get(id);
  }

  /** Create a rule from validated input. */
  async create(input: CareRuleInput, seedKey: string | null = null): Promise<CareRule> {
    validateRule(input);
    await this.validateContent({ ...input, contentIds: input.contentIds ?? [] });
    const rule = { ...input, id: newId(this.clock.now().getTime()), seedKey, audience: input.audience?.trim() || null } as Omit<CareRule, 'createdAt' | 'updatedAt'>;
    if (!(await this.repo.insert(rule, this.clock.now()))) throw new ConflictError(`已有同名规则 / a rule named ${input.name} exists`, 'rule_exists');
    return this.repo.get(rule.id);
  }

  /** Change some fields of a rule. */
  async update(id: string, patch: CareRulePatch): Promise<CareRule> {
    const current = await this.repo.get(id);
    const next: CareRule = { ...current, ...stripUndefined(patch) } as CareRule;
    if (patch.audience !== undefined) next.audience = patch.audience?.trim() || null;
    validateRule(next);
    await this.validateContent(next);
    if (!(await this.repo.update(next, this.clock.now()))) throw new ConflictError(`已有同名规则 / a rule named ${next.name} exists`, 'rule_exists');
    return this.repo.get(id);
  }

  /**
   * The rule's 素材库 items exist and fit, with its own attachments, in WeCom's 9 (the check broadcasts make). A
   * win-back rule sends its steps' messages, not the rule's, so items there would never go out: refused.
   */
  private async validateContent(rule: { contentIds: string[]; attachments: readonly unknown[]; occasion: CareRule['occasion'] }): Promise<void> {
    if (rule.contentIds.length === 0) return;
    if (rule.occasion.type === 'winback') throw invalidField('contentIds', '挽回活动暂不支持素材库素材，请在各步骤中填写消息与附件', 'content_not_allowed');
    if (!this.checkContent) throw invalidField('contentIds', '本实例未启用素材库', 'content_unavailable');
    await this.checkContent(rule.contentIds, rule.attachments.length);
  }

  /** Insert each default rule once (by its seed key); an operator's later edits are never overwritten. */
  async seed(rules: (CareRuleInput & { seedKey: string })[]): Promise<number> {
    let added = 0;
    for (const { seedKey, ...input } of rules) {
      try {
        await this.create(input, seedKey);
        added += 1;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    if (added > 0) this.log.info({ added }, 'default care rules seeded');
    return added;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Rules whose audience does not parse, whose holidays are unknown or whose win-back steps go back in time are
 * rejected with a 400 naming the field, so the console shows it next to that field.
 */
function validateRule(rule: Pick<CareRuleInput, 'audience' | 'occasion' | 'channel'>): void {
  if (rule.audience?.trim()) {
    try {
      parseAudience(rule.audience);
    } catch (err) {
      if (err instanceof AppError && err.status === 400) throw invalidField('audience', err.message, err.code);
      throw err;
    }
  }
  if (rule.occasion.type === 'holiday') {
    const known = new Set(HOLIDAYS.map((h) => h.key));
    const unknown = rule.occasion.holidays.filter((k) => !known.has(k));
    if (unknown.length) throw invalidField('occasion.holidays', `未知节日 / unknown holidays: ${unknown.join(', ')}（可用 / known: ${[...known].join(', ')}）`);
  }
  if (rule.occasion.type === 'winback') {
    // Steps run in order, each once its day is reached (WinbackService.runSteps): a step whose day is not after the
    // previous one's would go out together with it.
    const days = rule.occasion.steps.map((s) => s.day);
    const back = days.findIndex((d, i) => i > 0 && d <= days[i - 1]);
    if (back > 0) throw invalidField(`occasion.steps.${back}.day`, `第 ${back + 1} 步的天数应大于第 ${back} 步（${days[back - 1]} 天）/ step days must increase`);
  }
}
