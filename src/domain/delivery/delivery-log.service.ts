import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import type { Delivery } from './delivery.types.js';

/** The names of customers by external user id (CareScanRepository.byIds). */
export type CustomerNameLookup = (externalUserIds: string[]) => Promise<Map<string, { name: string }>>;

/** The loyalty programme's ledger sources in words (`loyalty:tier`: the upgrade congratulation). */
const LOYALTY_SOURCES: Record<string, string> = { 'loyalty:tier': '会员等级升级祝贺' };

/** The delivery ledger as operators read it (`GET /api/v1/deliveries`): filtered, newest first, with each customer's name. */
export class DeliveryLogService {
  constructor(
    private readonly deliveries: Pick<DeliveryRepository, 'list' | 'namesOfSources'>,
    private readonly customers?: CustomerNameLookup,
  ) {}

  /**
   * A page of the ledger; `names` holds the names of the page's customers still in the archive, `sources` each row's
   * source in words by its `source`: 关怀规则「…」, 唤醒活动「…」, 群发「…」, 满意度调查：…, 会员等级升级祝贺, 客户旅程「…」.
   */
  async list(filter: Parameters<DeliveryRepository['list']>[0]): Promise<{ items: Delivery[]; total: number; names: Map<string, string>; sources: Map<string, string> }> {
    const page = await this.deliveries.list(filter);
    const names = new Map<string, string>();
    if (this.customers && page.items.length) {
      for (const [id, c] of await this.customers([...new Set(page.items.map((d) => d.externalUserId))])) names.set(id, c.name);
    }
    return { ...page, names, sources: await this.sourceWords(page.items) };
  }

  private async sourceWords(items: Delivery[]): Promise<Map<string, string>> {
    const surveyId = (d: Delivery) => (/^survey:(\d{1,12})$/.exec(d.source)?.[1] ?? null);
    // A journey's rows are `journey:<journey id>` (docs/journeys.md §Message steps).
    const journeyId = (d: Delivery) => (d.kind === 'journey' && d.source.startsWith('journey:') ? d.source.slice('journey:'.length) : null);
    const found = await this.deliveries.namesOfSources({
      rules: items.flatMap((d) => ((d.kind === 'care' || d.kind === 'winback') && d.ruleId ? [d.ruleId] : [])),
      broadcasts: items.flatMap((d) => (d.kind === 'broadcast' && d.broadcastId ? [d.broadcastId] : [])),
      surveys: items.flatMap((d) => (d.kind === 'survey' && surveyId(d) ? [Number(surveyId(d))] : [])),
      journeys: items.flatMap((d) => (journeyId(d) ? [journeyId(d)!] : [])),
    });
    const out = new Map<string, string>();
    for (const d of items) {
      if (out.has(d.source)) continue;
      switch (d.kind) {
        case 'care':
        case 'winback': {
          const what = d.kind === 'care' ? '关怀规则' : '唤醒活动';
          const name = d.ruleId ? found.rules.get(d.ruleId) : undefined;
          out.set(d.source, name ? `${what}「${name}」` : `已删除的${what}`);
          break;
        }
        case 'broadcast': {
          const name = d.broadcastId ? found.broadcasts.get(d.broadcastId) : undefined;
          out.set(d.source, name ? `群发「${name}」` : '已删除的群发');
          break;
        }
        case 'survey': {
          const id = surveyId(d);
          const name = id ? found.surveys.get(Number(id)) : undefined;
          out.set(d.source, name ? `满意度调查：${name}` : '已删除的满意度调查');
          break;
        }
        case 'loyalty':
          out.set(d.source, LOYALTY_SOURCES[d.source] ?? '会员消息');
          break;
        case 'journey': {
          const id = journeyId(d);
          const name = id ? found.journeys.get(id) : undefined;
          out.set(d.source, name ? `客户旅程「${name}」` : '已删除的客户旅程');
          break;
        }
      }
    }
    return out;
  }
}
