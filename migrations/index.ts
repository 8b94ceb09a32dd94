import type { MigrationInterface } from 'typeorm';
import { InboxTokensTimeline1795000000001 } from './0001-inbox-tokens-timeline.js';

/** Every migration, in the order it runs. Append only; never edit a shipped migration. */
export const migrations: (new () => MigrationInterface)[] = [InboxTokensTimeline1795000000001];
