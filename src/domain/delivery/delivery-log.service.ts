import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import type { Delivery } from './delivery.types.js';

/** The names of customers by external user id (CareScanRepository.byIds). */
export type CustomerNameLookup = (externalUserIds: string[]) => Promise<Map<string, { name: string }>>;

/** The delivery ledger as operators read it (`GET /api/v1/deliveries`): filtered, newest first, with each customer's name. */
export class DeliveryLogService {
  constructor(
    private readonly deliveries: Pick<DeliveryRepository, 'list'>,
    private readonly customers?: CustomerNameLookup,
  ) {}

  /** A page of the ledger; `names` holds the names of the page's customers still in the archive. */
  async list(filter: Parameters<DeliveryRepository['list']>[0]): Promise<{ items: Delivery[]; total: number; names: Map<string, string> }> {
    const page = await this.deliveries.list(filter);
    const names = new Map<string, string>();
    if (this.customers && page.items.length) {
      for (const [id, c] of await this.customers([...new Set(page.items.map((d) => d.externalUserId))])) names.set(id, c.name);
    }
    return { ...page, names };
  }
}
