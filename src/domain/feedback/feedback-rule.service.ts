import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { FeedbackRepository } from '../../persistence/repositories/feedback.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { ConflictError, invalidField } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { compileRulePattern, matchesKeyword } from '../tags/keyword-matcher.js';
import type { FeedbackRule } from './feedback.types.js';

/** The category of feedback no rule matched (docs/feedback.md §Categories). */
export const OTHER_CATEGORY = '其他';

// The fields without defaults: a PATCH must not reset what it does not mention.
const ruleFields = {
  name: z.string().trim().min(1, '请填写规则名称').max(100),
  /** `退款|退货` (any of them) or a regex, matched as keyword tag rules are (docs/tags.md). */
  pattern: z.string().trim().min(1, '请填写关键词').max(500),
  matchType: z.enum(['substring', 'regex']),
  category: z.string().trim().min(1, '请填写分类').max(32),
  opensTicket: z.boolean(),
  enabled: z.boolean(),
};

/** A rule as created through the API (and in config/feedback-rules.json). */
export const feedbackRuleInput = z.object({
  ...ruleFields,
  matchType: ruleFields.matchType.default('substring'),
  opensTicket: ruleFields.opensTicket.default(false),
  enabled: ruleFields.enabled.default(true),
});
/** Parsed rule input. */
export type FeedbackRuleInput = z.infer<typeof feedbackRuleInput>;
/** A PATCH: any subset of the fields. */
export const feedbackRulePatch = z.object(ruleFields).partial();
/** Parsed rule changes. */
export type FeedbackRulePatch = z.infer<typeof feedbackRulePatch>;

/** How long the enabled rules are reused without reading them again (a KF burst runs each message through them). */
const RULES_REUSE_MS = 5_000;

/**
 * The feedback keyword rules (docs/feedback.md §Categories): configured like keyword tag rules (the same matcher,
 * seeded from a JSON file into an empty table, edited through the API). The first enabled rule a text matches gives
 * its category; a complaint rule (`opensTicket`) also opens a ticket for a customer's WeChat-KF message.
 */
export class FeedbackRuleService {
  private cached: { rules: Promise<FeedbackRule[]>; until: number } | null = null;

  constructor(
    private readonly repo: FeedbackRepository,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Every rule. */
  list(): Promise<FeedbackRule[]> {
    return this.repo.listRules();
  }

  /** Create a rule; a regex must compile and the name be free. `order` spaces rules made in one go a millisecond apart. */
  async create(input: FeedbackRuleInput, order = 0): Promise<FeedbackRule> {
    // Rules apply in the order they were made (created_at): seeded ones keep the file's order.
    const now = new Date(this.clock.now().getTime() + order);
    const rule: FeedbackRule = { id: newId(now.getTime()), name: input.name, pattern: input.pattern, matchType: input.matchType, category: input.category, opensTicket: input.opensTicket, isEnabled: input.enabled, createdAt: now, updatedAt: now };
    validate(rule);
    if (!(await this.repo.insertRule(rule))) throw nameTaken(rule.name);
    this.cached = null;
    return rule;
  }

  /** Change a rule. */
  async update(id: string, c: FeedbackRulePatch): Promise<FeedbackRule> {
    const cur = await this.repo.getRule(id);
    const next: FeedbackRule = {
      ...cur,
      name: c.name ?? cur.name,
      pattern: c.pattern ?? cur.pattern,
      matchType: c.matchType ?? cur.matchType,
      category: c.category ?? cur.category,
      opensTicket: c.opensTicket ?? cur.opensTicket,
      isEnabled: c.enabled ?? cur.isEnabled,
      updatedAt: this.clock.now(),
    };
    validate(next);
    if (!(await this.repo.updateRule(next))) throw nameTaken(next.name);
    this.cached = null;
    return next;
  }

  /** One rule, or NotFoundError. */
  get(id: string): Promise<FeedbackRule> {
    return this.repo.getRule(id);
  }

  /** Delete a rule; tickets keep the category it gave them. */
  async remove(id: string): Promise<void> {
    await this.repo.getRule(id);
    await this.repo.deleteRule(id);
    this.cached = null;
  }

  /** Seed config/feedback-rules.json into an empty table (first start only). */
  async seedDefaults(file: string): Promise<number> {
    if ((await this.repo.countRules()) > 0) return 0;
    let parsed: { rules: FeedbackRuleInput[] };
    try {
      parsed = z.object({ rules: z.array(feedbackRuleInput) }).parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      this.log.warn({ file, err: (err as Error).message }, 'default feedback rules not seeded');
      return 0;
    }
    let n = 0;
    for (const [i, r] of parsed.rules.entries()) {
      try {
        await this.create(r, i);
        n++;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    return n;
  }

  /** The category of a text: the first enabled rule it matches, or null. */
  async categorize(text: string): Promise<string | null> {
    if (!text) return null;
    return (await this.enabled()).find((r) => matchesKeyword(r, text))?.category ?? null;
  }

  /** The first enabled complaint rule a text matches, or null (a KF message: docs/feedback.md §Opening a ticket). */
  async complaintRule(text: string): Promise<FeedbackRule | null> {
    if (!text) return null;
    return (await this.enabled()).find((r) => r.opensTicket && matchesKeyword(r, text)) ?? null;
  }

  /** The categories staff and operators choose from: every rule's, then 其他. */
  async categories(): Promise<string[]> {
    const names = (await this.repo.listRules()).map((r) => r.category);
    return [...new Set([...names, OTHER_CATEGORY])];
  }

  private enabled(): Promise<FeedbackRule[]> {
    const now = Date.now();
    if (!this.cached || this.cached.until <= now) {
      const rules = this.repo.listEnabledRules();
      const entry = { rules, until: now + RULES_REUSE_MS };
      this.cached = entry;
      rules.catch(() => {
        if (this.cached === entry) this.cached = null;
      });
    }
    return this.cached.rules;
  }
}

function validate(r: FeedbackRule): void {
  if (r.matchType === 'regex' && compileRulePattern(r.pattern) === null) throw invalidField('pattern', '正则表达式无效 / invalid regular expression', 'invalid_pattern');
}

function nameTaken(name: string): ConflictError {
  return new ConflictError(`已有同名规则「${name}」/ a rule with this name exists`, 'feedback_rule_exists');
}
