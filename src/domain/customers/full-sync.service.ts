import type { FollowRelationRepository } from '../../persistence/repositories/follow-relation.repository.js';
import type { SyncRunRepository } from '../../persistence/repositories/sync-run.repository.js';
import type { SyncProgress, SyncRun } from './sync-run.types.js';
import type { Db } from '../../persistence/db.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { newId } from '../../shared/ids.js';
import type { CustomerArchiveService } from './customer-archive.service.js';
import type { TagLibraryService } from '../tags/tag-library.service.js';
import type { StaffService } from './staff.service.js';
import { newGroupSyncProgress, type GroupSyncListener, type GroupSyncService } from '../groups/group-sync.service.js';

/** Port: which of these (staff, customer) relations an open transfer is moving, as keys `userid|externalUserId`. */
export type PendingTransferCheck = (relations: { userid: string; externalUserId: string }[]) => Promise<Set<string>>;
/**
 * batch/get_by_user takes ≤ 100 userids and returns ≤ 100 pairs per page
 * (docs/wecom-protocol.md §Batch customer details).
 */
const USERS_PER_CALL = 100;
const PAGE_LIMIT = 100;

/** Progress as the command line shows it. */
export interface SyncReport {
  runId: string;
  resumed: boolean;
  pairs: number;
  customers: number;
  vanished: number;
  /** Members listed, names read from WeCom, and members WeCom would not show (60011/60111): they keep their name, or the userid. */
  staff: { listed: number; named: number; unavailable: string[] };
  tags: { groups: number; tags: number; markedDeleted: number; created: number };
  /** Customer groups listed, spells opened and closed, groups found dismissed (docs/groups.md §Full sync). */
  chats: { listed: number; joined: number; left: number; dismissed: number; ms: number };
  ms: number;
}

/** Called after every page; the CLI prints count, rate and ETA from it. */
export type SyncProgressListener = (p: { pairs: number; chunk: number; chunks: number; elapsedMs: number; groups?: Parameters<GroupSyncListener>[0] }) => void;

/**
 * Full reconcile from WeCom (`wecom-ops sync`): staff and their names (user/get), the tag library both ways, then
 * every staff member's customers through batch/get_by_user, paged, then relations that vanished while the bot was
 * not listening, then every customer group (docs/groups.md §Full sync). Progress is saved after every phase and page, so a crashed run resumes where it was; pages
 * already stored are simply re-stored (upserts), which is harmless.
 */
export class FullSyncService {
  constructor(
    private readonly db: Db,
    private readonly runs: SyncRunRepository,
    private readonly staff: StaffService,
    private readonly customers: CustomerRepository,
    private readonly relations: FollowRelationRepository,
    private readonly archive: CustomerArchiveService,
    private readonly library: TagLibraryService,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly requiredTags: () => Promise<string[]> = async () => [],
    /**
     * From the transfers feature (客户继承): relations that an open transfer is handing over. WeCom drops the
     * handover's relation when the takeover happens, possibly before the bot hears of it (callbacks held up, the job
     * not run yet); such a relation is left for the transfer to close as `transferred`, not marked deleted by the
     * staff member (docs/wecom-protocol.md §Customer transfers).
     */
    private readonly pendingTransfers: PendingTransferCheck = async () => new Set(),
    /** The customer-group phase, after relations (docs/groups.md §Full sync); without it the run ends there. */
    private readonly groupSync?: GroupSyncService,
  ) {}

  /** Run (or resume) a full sync to completion. */
  async run(onProgress?: SyncProgressListener): Promise<SyncReport> {
    const started = Date.now();
    const existing = await this.runs.findUnfinished();
    const run: SyncRun = existing ?? (await this.start());
    const p = run.progress;
    let tags: SyncReport['tags'] = { groups: 0, tags: 0, markedDeleted: 0, created: 0 };
    if (p.phase === 'staff') {
      // One user/get per member (doc path/90196). Cheap, so a crash here simply redoes the whole phase.
      const names = await this.staff.refreshNames(p.userIds);
      p.staffNames = names;
      p.phase = 'tags';
      await this.save(run.id, p);
    }
    if (p.phase === 'tags') {
      tags = await this.library.reconcile(await this.requiredTags());
      p.phase = 'relations';
      await this.save(run.id, p);
    }
    const chunks = Math.ceil(p.userIds.length / USERS_PER_CALL);
    while (p.phase === 'relations' && p.chunk < chunks) {
      const userIds = p.userIds.slice(p.chunk * USERS_PER_CALL, (p.chunk + 1) * USERS_PER_CALL);
      const page = await this.wecom.batchGetByUser({ userIds, cursor: p.cursor || undefined, limit: PAGE_LIMIT });
      await this.archive.storePairs(page.items, run.id);
      p.pairs += page.items.length;
      if (page.nextCursor) p.cursor = page.nextCursor;
      else {
        p.chunk += 1;
        p.cursor = '';
      }
      await this.save(run.id, p);
      onProgress?.({ pairs: p.pairs, chunk: p.chunk, chunks, elapsedMs: Date.now() - started });
    }
    if (p.phase === 'relations') {
      p.vanished = await this.markVanished(run.id, p.userIds);
      p.customers = await this.customers.count();
      p.phase = 'groups';
      await this.save(run.id, p);
    }
    let groupMs = 0;
    if (p.phase === 'groups') {
      const groupStarted = Date.now();
      if (this.groupSync) {
        p.groups ??= newGroupSyncProgress();
        await this.groupSync.run(run.id, p.groups, p.userIds, () => this.save(run.id, p), (g) => onProgress?.({ pairs: p.pairs, chunk: chunks, chunks, elapsedMs: Date.now() - started, groups: g }));
      }
      groupMs = Date.now() - groupStarted;
      p.phase = 'done';
      await this.runs.finish(run.id, 'done', p, this.clock.now().getTime());
    }
    const vanished = p.vanished ?? 0;
    const g = p.groups;
    const chats = { listed: g?.listed ?? 0, joined: g?.joined ?? 0, left: g?.left ?? 0, dismissed: g?.dismissed ?? 0, ms: groupMs };
    const staff = { listed: p.userIds.length, named: p.staffNames?.named ?? 0, unavailable: p.staffNames?.unavailable ?? [] };
    const report = { runId: run.id, resumed: existing !== null, pairs: p.pairs, customers: p.customers, vanished, staff, tags, chats, ms: Date.now() - started };
    this.log.info({ runId: run.id, pairs: p.pairs, vanished, groups: chats.listed, groupJoins: chats.joined, groupLeaves: chats.left, staffNamed: staff.named, staffUnavailable: staff.unavailable.length, ms: report.ms }, 'full sync finished');
    return report;
  }

  private async start(): Promise<SyncRun> {
    const now = this.clock.now().getTime();
    const userIds = await this.wecom.getFollowUserList();
    await this.staff.recordListed(userIds);
    const progress: SyncProgress = { userIds, chunk: 0, cursor: '', pairs: 0, customers: 0, phase: 'staff' };
    return this.runs.create(newId(now), progress, now);
  }

  private save(id: string, p: SyncProgress): Promise<void> {
    return this.runs.saveProgress(id, p, this.clock.now().getTime());
  }

  /**
   * Relations still active locally that this run never saw: the staff member deleted the customer while the bot was
   * not listening (a customer-side delete keeps a one-way relation WeCom still lists: 84061 in
   * docs/wecom-protocol.md §Error codes), unless an open transfer is moving them.
   */
  private async markVanished(runId: string, userIds: string[]): Promise<number> {
    const vanished = await this.relations.findVanished(runId, userIds);
    const moving = vanished.length > 0 ? await this.pendingTransfers(vanished) : new Set<string>();
    const gone = vanished.filter((g) => !moving.has(`${g.userid}|${g.externalUserId}`));
    const now = this.clock.now().getTime();
    for (let i = 0; i < gone.length; i += 200) {
      const slice = gone.slice(i, i + 200);
      await this.db.tx(async (em) => {
        for (const g of slice) {
          await this.relations.setStatusInTx(em, g.userid, g.externalUserId, 'deleted_by_staff', null, now);
          await this.customers.refreshActivityInTx(em, g.externalUserId, now);
        }
      });
    }
    return gone.length;
  }
}
