import { resolve } from 'node:path';

/** Default keyword tag rules, seeded into an empty `tag_rules` table. */
export const DEFAULT_TAG_RULES_FILE = resolve('config/tag-rules.json');

/** Default quick replies, seeded by key into the content library (docs/content.md §Quick replies). */
export const DEFAULT_QUICK_REPLIES_FILE = resolve('config/quick-replies.json');

/** Default feedback category and complaint rules, seeded into an empty `feedback_rules` table (docs/feedback.md §Categories). */
export const DEFAULT_FEEDBACK_RULES_FILE = resolve('config/feedback-rules.json');
