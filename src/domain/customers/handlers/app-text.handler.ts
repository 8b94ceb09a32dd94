import type { EventHandler, TimelineNote } from '../../inbox/event-router.js';
import { eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { CustomerRepository } from '../../../persistence/repositories/customer.repository.js';
import type { TagRuleService } from '../../tags/tag-rule.service.js';

/**
 * App `text` messages run the keyword rules when the sender is a known customer. Staff–customer chats never
 * reach app callbacks (docs/wecom-protocol.md §App messages from members), so text from a member is not about any
 * customer and is left alone.
 */
export class AppTextHandler implements EventHandler {
  readonly name = 'tags.app-text';
  readonly kinds = ['text'];

  constructor(
    private readonly customers: CustomerRepository,
    private readonly tagRules: TagRuleService,
  ) {}

  /** Apply keyword rules to the sender. */
  async handle(event: InboundEvent): Promise<TimelineNote | void> {
    const from = eventField(event, 'FromUserName');
    const content = eventField(event, 'Content');
    if (!from || !content) return;
    const customer = await this.customers.find(from);
    if (!customer) return;
    const matched = await this.tagRules.applyKeywordRules(from, content);
    return { externalUserId: from, summary: matched.length ? `应用消息命中关键词规则：${matched.join('、')}` : '应用消息', data: { rules: matched } };
  }
}
