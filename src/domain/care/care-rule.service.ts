import { z } from 'zod';
import type { Clock } from '../../shared/clock.js';
import { ConflictError, ValidationError } from '../../shared/errors.js';
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
    if (!(await this.repo.update(next, this.clock.now()))) throw new ConflictError(`已有同名规则 / a rule named ${next.name} exists`, 'rule_exists');
    return this.repo.get(id);
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

/** Rules whose audience does not parse or whose holidays are unknown are rejected with a 400. */
function validateRule(rule: Pick<CareRuleInput, 'audience' | 'occasion' | 'channel'>): void {
  if (rule.audience?.trim()) parseAudience(rule.audience);
  if (rule.occasion.type === 'holiday') {
    const known = new Set(HOLIDAYS.map((h) => h.key));
    const unknown = rule.occasion.holidays.filter((k) => !known.has(k));
    if (unknown.length) throw new ValidationError(`未知节日 / unknown holidays: ${unknown.join(', ')}（可用 / known: ${[...known].join(', ')}）`);
  }
}
