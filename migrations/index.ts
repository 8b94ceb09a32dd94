import type { MigrationInterface } from 'typeorm';
import { InboxTokensTimeline1795000000001 } from './0001-inbox-tokens-timeline.js';
import { Archive1795000000002 } from './0002-archive.js';
import { Scheduling1795000000003 } from './0003-scheduling.js';
import { Scoring1795000000004 } from './0004-scoring.js';
import { StaffNames1795000000005 } from './0005-staff-names.js';
import { Broadcasts1795000000006 } from './0006-broadcasts.js';
import { QuickReplies1795000000007 } from './0007-quick-replies.js';
import { InboxPriority1795000000008 } from './0008-inbox-priority.js';
import { WecomCredentials1795000000009 } from './0009-wecom-credentials.js';
import { PersonalData1795000000010 } from './0010-personal-data.js';
import { Transfers1795000000011 } from './0011-transfers.js';
import { StaffAccess1795000000012 } from './0012-staff-access.js';
import { Secrets1795000000013 } from './0013-secrets.js';
import { StaffMessages1795000000014 } from './0014-staff-messages.js';
import { AuthFailures1795000000015 } from './0015-auth-failures.js';
import { StaffRenames1795000000016 } from './0016-staff-renames.js';
import { SearchBudget1795000000017 } from './0017-search-budget.js';
import { WecomRateLimits1795000000018 } from './0018-wecom-rate-limits.js';
import { InboxQueueLane1795000000019 } from './0019-inbox-queue-lane.js';
import { AudienceIndexes1795000000020 } from './0020-audience-indexes.js';
import { ConsoleAccess1795000000021 } from './0021-console-access.js';
import { AudienceCoveringIndex1795000000022 } from './0022-audience-covering-index.js';
import { CustomerOrderTotals1795000000023 } from './0023-customer-order-totals.js';
import { BulkTagJobs1795000000028 } from './0028-bulk-tag-jobs.js';
import { Analytics1795000000027 } from './0027-analytics.js';

/** Every migration, in the order it runs. Append only; never edit a shipped migration. */
export const migrations: (new () => MigrationInterface)[] = [InboxTokensTimeline1795000000001, Archive1795000000002, Scheduling1795000000003, Scoring1795000000004, StaffNames1795000000005, Broadcasts1795000000006, QuickReplies1795000000007, InboxPriority1795000000008, WecomCredentials1795000000009, PersonalData1795000000010, Transfers1795000000011, StaffAccess1795000000012, Secrets1795000000013, StaffMessages1795000000014, AuthFailures1795000000015, StaffRenames1795000000016, SearchBudget1795000000017, WecomRateLimits1795000000018, InboxQueueLane1795000000019, AudienceIndexes1795000000020, ConsoleAccess1795000000021, AudienceCoveringIndex1795000000022, CustomerOrderTotals1795000000023, BulkTagJobs1795000000028, Analytics1795000000027];
