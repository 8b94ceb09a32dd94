import type { DbEngine } from '../../persistence/data-source.js';
import type { Clock } from '../../shared/clock.js';
import { localDate } from '../../shared/dates.js';
import { invalidField } from '../../shared/errors.js';
import { renderTemplate } from '../../shared/template.js';
import { parseAudience } from '../audiences/index.js';
import { compileAudience } from '../audiences/audience.compiler.js';
import { resolveAudienceTags, type AudienceTagLookup } from '../audiences/audience.tags.js';
import type { Sender, SqlCondition } from '../care/care-scan.types.js';
import { checkBroadcastText } from './broadcast-rules.js';
import type { BroadcastPreview, BroadcastPreviewInput } from './broadcast.types.js';

/** What a preview reads: one customer of the audience, and who would send to them. */
export interface PreviewReads {
  sampleOfAudience(where: SqlCondition, externalUserId?: string): Promise<{ externalUserId: string; name: string; isOptedOut: boolean } | null>;
  sendersOf(ids: string[], policy: 'latest' | 'earliest'): Promise<Map<string, Sender>>;
}

/**
 * A broadcast's message rendered for one customer of its audience, exactly as the planner would write their ledger row:
 * the same template variables, the same sender policy among the customer's active followers.
 */
export class BroadcastPreviewService {
  constructor(
    private readonly reads: PreviewReads,
    /** The live tags an audience's `tag:` values mean (TagRepository.liveTagsNamed). */
    private readonly tags: AudienceTagLookup,
    private readonly engine: DbEngine,
    private readonly clock: Clock,
    private readonly tz: string,
    private readonly senderPolicy: 'latest' | 'earliest',
  ) {}

  /**
   * 400 (with the field) when the text uses an unknown variable or is too long, the audience does not parse or holds
   * nobody, or the customer named is not in it.
   */
  async preview(input: BroadcastPreviewInput): Promise<BroadcastPreview> {
    if (input.message.text) checkBroadcastText(input.message.text);
    const expr = parseAudience(input.audience);
    // Tag names resolved to the live tags' ids, as the planner does when the broadcast goes out.
    const tagIds = await resolveAudienceTags(this.tags, expr);
    const where = compileAudience(expr, { engine: this.engine, today: localDate(this.clock.now(), this.tz), timezone: this.tz, tagIds, now: this.clock.now().getTime() });
    const customer = await this.reads.sampleOfAudience(where, input.externalUserId);
    if (!customer) {
      throw input.externalUserId === undefined
        ? invalidField('audience', '受众中没有客户，无法预览 / the audience holds no customer', 'audience_empty')
        : invalidField('externalUserId', '该客户不在受众中 / the customer is not in the audience', 'not_in_audience');
    }
    const sender = (await this.reads.sendersOf([customer.externalUserId], this.senderPolicy)).get(customer.externalUserId) ?? null;
    return {
      customer: { externalUserId: customer.externalUserId, name: customer.name },
      sender,
      text: renderTemplate(input.message.text, { name: customer.name, staff: sender?.name ?? '' }),
      attachments: input.message.attachments,
      isOptedOut: customer.isOptedOut,
    };
  }
}
