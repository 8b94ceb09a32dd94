import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';

/** The delivery ledger as operators read it (`GET /api/v1/deliveries`): filtered, newest first. */
export class DeliveryLogService {
  constructor(private readonly deliveries: Pick<DeliveryRepository, 'list'>) {}

  list(filter: Parameters<DeliveryRepository['list']>[0]): ReturnType<DeliveryRepository['list']> {
    return this.deliveries.list(filter);
  }
}
