import { resolve } from 'node:path';
import type { Container } from '../../container.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import { FollowRelationRepository } from '../../persistence/repositories/follow-relation.repository.js';
import { TagRepository } from '../../persistence/repositories/tag.repository.js';
import { ChannelRepository } from '../../persistence/repositories/channel.repository.js';
import { TagRuleRepository } from '../../persistence/repositories/tag-rule.repository.js';
import { KfCursorRepository } from '../../persistence/repositories/kf-cursor.repository.js';
import { GroupChatRepository } from '../../persistence/repositories/group-chat.repository.js';
import { SyncRunRepository } from '../../persistence/repositories/sync-run.repository.js';
import { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import { TimelineSourceRepository } from '../../persistence/repositories/timeline-source.repository.js';
import { NoteRepository } from '../../persistence/repositories/note.repository.js';
import { OrderRepository } from '../../persistence/repositories/order.repository.js';
import { TagLibraryService } from '../tags/tag-library.service.js';
import { CustomerTaggingService } from '../tags/customer-tagging.service.js';
import { TagRuleService } from '../tags/tag-rule.service.js';
import { ChannelService } from '../channels/channel.service.js';
import { CustomerArchiveService } from './customer-archive.service.js';
import { ChurnService } from './churn.service.js';
import { StaffMessenger } from '../notify/staff-messenger.js';
import { StaffRenameService } from './staff-rename.service.js';
import { StaffMessageRepository } from '../../persistence/repositories/staff-message.repository.js';
import { StaffRenameRepository } from '../../persistence/repositories/staff-rename.repository.js';
import { KfSyncService } from './kf-sync.service.js';
import { CustomerService } from './customer.service.js';
import { SearchBudget } from './search-budget.js';
import { SearchBudgetRepository } from '../../persistence/repositories/search-budget.repository.js';
import { FullSyncService } from './full-sync.service.js';
import { NoteService } from './note.service.js';
import { OrderService } from '../orders/order.service.js';
import { StaffService } from './staff.service.js';
import { ContactAddedHandler } from './handlers/contact-added.handler.js';
import { ContactEditedHandler } from './handlers/contact-edited.handler.js';
import { ContactLostHandler } from './handlers/contact-lost.handler.js';
import { TransferFailedHandler } from './handlers/transfer-failed.handler.js';
import { StaffDirectoryHandler } from './handlers/staff-directory.handler.js';
import { TagLibraryHandler } from './handlers/tag-library.handler.js';
import { GroupChatHandler } from './handlers/group-chat.handler.js';
import { KfMessageHandler } from './handlers/kf-message.handler.js';
import { AppTextHandler } from './handlers/app-text.handler.js';
import { customersRouter } from '../../http/routes/customers.router.js';
import { audiencesRouter } from '../../http/routes/audiences.router.js';
import { channelsRouter } from '../../http/routes/channels.router.js';
import { tagsRouter } from '../../http/routes/tags.router.js';
import { tagRulesRouter } from '../../http/routes/tag-rules.router.js';
import { notesRouter } from '../../http/routes/notes.router.js';
import { ordersRouter } from '../../http/routes/orders.router.js';
import { staffRouter } from '../../http/routes/staff.router.js';
import { StaffAccessService } from '../auth/staff-access.service.js';

/** Everything the customer archive builds, for the CLI (sync) and tests. */
export interface ArchiveModule {
  repos: {
    customers: CustomerRepository;
    relations: FollowRelationRepository;
    tags: TagRepository;
    channels: ChannelRepository;
    tagRules: TagRuleRepository;
    groupChats: GroupChatRepository;
    syncRuns: SyncRunRepository;
    kfCursors: KfCursorRepository;
    notes: NoteRepository;
    orders: OrderRepository;
  };
  library: TagLibraryService;
  tagging: CustomerTaggingService;
  tagRules: TagRuleService;
  channels: ChannelService;
  archive: CustomerArchiveService;
  churn: ChurnService;
  /** App messages to staff within WeCom's per-member caps (churn alerts; digests of what had to wait). */
  messenger: StaffMessenger;
  kf: KfSyncService;
  customers: CustomerService;
  fullSync: FullSyncService;
  notes: NoteService;
  orders: OrderService;
  staff: StaffService;
  /** Revoking a member's sidebar sessions and staff tokens (sidebar and transfers use it too). */
  access: StaffAccessService;
}

/** Default keyword rules shipped in config/. */
export const DEFAULT_TAG_RULES_FILE = resolve('config/tag-rules.json');

/** Build the archive module over a container and a WeCom gateway (no registration). */
export function buildArchive(c: Container, wecom: WecomGateway): ArchiveModule {
  const { db, clock, cipher } = c;
  const log = c.log.child({ module: 'archive' });
  const tz = c.config.appTimezone;
  const repos = {
    customers: new CustomerRepository(db, cipher),
    relations: new FollowRelationRepository(db, cipher),
    tags: new TagRepository(db),
    channels: new ChannelRepository(db),
    tagRules: new TagRuleRepository(db),
    groupChats: new GroupChatRepository(db),
    syncRuns: new SyncRunRepository(db),
    kfCursors: new KfCursorRepository(db),
    notes: new NoteRepository(db),
    orders: new OrderRepository(db),
  };
  const staff = new StaffRepository(db);
  const staffService = new StaffService(staff, wecom, clock, log);
  const access = new StaffAccessService(staff, c.repos.apiTokens, clock, log.child({ component: 'staff-access' }));
  const sources = new TimelineSourceRepository(db);
  const library = new TagLibraryService(db, repos.tags, wecom, clock, log);
  const tagging = new CustomerTaggingService(db, repos.tags, repos.relations, wecom, clock, log);
  const tagRules = new TagRuleService(repos.tagRules, repos.tags, library, tagging, clock, log);
  const channels = new ChannelService(db, repos.channels, repos.customers, c.repos.timeline, sources, library, tagging, wecom, clock, log, tz, staffService);
  const archive = new CustomerArchiveService(db, repos.customers, repos.relations, repos.tags, library, wecom, clock);
  const messenger = new StaffMessenger(new StaffMessageRepository(db), () => wecom, clock, log.child({ component: 'staff-messages' }), tz);
  const churn = new ChurnService(db, repos.customers, repos.relations, c.repos.timeline, sources, channels, messenger, clock, log, c.config.alerts?.adminUserids ?? [], staff);
  const kf = new KfSyncService(db, repos.kfCursors, repos.customers, c.repos.timeline, tagRules, wecom, clock);
  const customers = new CustomerService(db, repos.customers, repos.relations, repos.tags, c.repos.timeline, repos.channels, library, tagging, clock, tz, repos.notes, repos.orders, {
    staffMayCreateTags: c.config.staffMayCreateTags,
    searchBudget: new SearchBudget(new SearchBudgetRepository(db), clock, log.child({ component: 'search-budget' }), c.config.search),
  });
  const notes = new NoteService(db, repos.notes, c.repos.timeline, customers, staff, clock);
  const orders = new OrderService(db, repos.orders, repos.customers, customers, clock, log, tz);
  const requiredTags = async () => [
    ...(await repos.channels.list(1, 10_000)).items.flatMap((ch) => ch.tags),
    // Behaviour tags are local only (BehaviourTaggingService), so a sync never creates them as WeCom corp tags.
    ...(await repos.tagRules.list()).filter((r) => r.isEnabled && r.kind !== 'behaviour').flatMap((r) => r.tags),
  ];
  const fullSync = new FullSyncService(db, repos.syncRuns, staffService, repos.customers, repos.relations, archive, library, wecom, clock, log, requiredTags);

  const handlers = [
    new ContactAddedHandler(archive, channels, staff),
    new ContactEditedHandler(archive),
    new ContactLostHandler(churn),
    new TransferFailedHandler(),
    new StaffDirectoryHandler(staff, access, new StaffRenameService(new StaffRenameRepository(db), c.cipher, log.child({ component: 'staff-rename' }))),
    new TagLibraryHandler(library),
    new GroupChatHandler(repos.groupChats, wecom, clock),
    new KfMessageHandler(kf),
    new AppTextHandler(repos.customers, tagRules),
  ];
  for (const h of handlers) c.eventRouter.register(h);
  c.apiRouters.push(
    customersRouter(customers),
    audiencesRouter(customers),
    channelsRouter(channels),
    tagsRouter(library, repos.tags),
    tagRulesRouter(tagRules),
    notesRouter(notes),
    ordersRouter(orders),
    staffRouter(staffService, access),
  );
  return { repos, library, tagging, tagRules, channels, archive, churn, messenger, kf, customers, fullSync, notes, orders, staff: staffService, access };
}

/**
 * Wire the customer archive into the container: event handlers, `/api/v1` routers, and the default keyword rules seeded
 * into an empty table. Needs `c.wecom`; without a gateway the archive cannot work, so nothing is registered.
 */
export async function registerArchive(c: Container): Promise<void> {
  const holder = c as Container & { wecom?: WecomGateway; archive?: ArchiveModule };
  if (!holder.wecom) {
    c.log.warn('no WeCom gateway on the container; customer archive not wired');
    return;
  }
  holder.archive = buildArchive(c, holder.wecom);
  await holder.archive.tagRules.seedDefaults(DEFAULT_TAG_RULES_FILE);
}
