import type { Container } from '../../container.js';
import { featureSlot } from '../../shared/feature-slot.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { ArchiveModule } from '../customers/register.js';
import { TransferRepository } from '../../persistence/repositories/transfer.repository.js';
import { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import { schedulingOf } from '../../jobs/register-scheduling.js';
import { transfersJob } from '../../jobs/transfers.job.js';
import { transfersRouter } from '../../http/routes/transfers.router.js';
import { TransferService } from './transfer.service.js';
import { TransferSettlement } from './transfer-settlement.js';
import { TransferResultsService } from './transfer-results.service.js';
import { TransferCallbackHandler, TransferPresence } from './transfer-callback.handler.js';

/** The transfers feature (客户继承), for tests and the CLI. */
export interface TransfersModule {
  repo: TransferRepository;
  service: TransferService;
  settlement: TransferSettlement;
  results: TransferResultsService;
}

const modules = featureSlot<TransfersModule>('transfers');

/** The transfers module of a container (throws if `registerTransfers` did not run). */
export function transfersOf(c: Container): TransfersModule {
  return modules.of(c);
}

/**
 * Wire 客户继承: `/api/v1/transfers`, the callback handler (registered after the archive's, so it sees their
 * relation changes and has the last word on the timeline line) and the `transfers` job. Needs the archive
 * (relations, audiences) and scheduling; runs after both.
 */
export function registerTransfers(c: Container): void {
  const archive = (c as Container & { archive?: ArchiveModule }).archive;
  if (!archive) {
    c.log.warn('no customer archive on the container; transfers not wired');
    return;
  }
  const log = c.log.child({ component: 'transfers' });
  // Resolved per call, like the scheduling module's gateway, so a gateway swapped in later (tests) is used.
  const wecom = (): WecomGateway => c.wecom;
  const repo = new TransferRepository(c.db);
  const settlement = new TransferSettlement(c.db, repo, archive.repos.relations, archive.repos.customers, c.repos.timeline, new StaffRepository(c.db), c.clock);
  const presence = new TransferPresence(repo);
  // A member WeCom lets go by 离职继承 has left: their sidebar sessions end and they cannot sign in again.
  const resigned = async (handover: string) => {
    await archive.access.revoke(handover, { resigned: true, by: 'transfers' });
  };
  const service = new TransferService(repo, wecom, (audience) => archive.customers.audienceWhere(audience, { role: 'admin', userid: null }), c.clock, log, presence, resigned);
  const results = new TransferResultsService(repo, wecom, settlement, log);
  c.eventRouter.register(new TransferCallbackHandler(repo, settlement, presence));
  archive.fullSync.setPendingTransferCheck(async (relations) => {
    const ids = [...new Set(relations.map((r) => r.externalUserId))];
    const moving = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      for (const t of (await repo.findOpen(ids.slice(i, i + 500))).values()) moving.add(`${t.handoverUserid}|${t.externalUserId}`);
    }
    return moving;
  });
  const m = schedulingOf(c);
  m.jobs.register(transfersJob({ results, schedule: m.settings.schedules.transfers }));
  c.apiRouters.push(transfersRouter(service));
  modules.set(c, { repo, service, settlement, results });
}
