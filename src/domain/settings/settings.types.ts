// What the settings page shows: each setting the engine runs with, and where it comes from.

/**
 * Where a setting's value comes from: an environment variable, a config file (with the key inside it), the schema's
 * default (with the variable or file that would set it), or the code itself (not configurable).
 */
export type SettingSource =
  | { kind: 'env'; name: string }
  | { kind: 'file'; file: string; key: string }
  | { kind: 'default'; env?: string; file?: string; key?: string }
  | { kind: 'builtin' };

/** One setting. Values are plain JSON (numbers, strings, small objects); never a secret. */
export interface Setting {
  key: string;
  value: unknown;
  source: SettingSource;
  /** Whether it can be changed at runtime through the API (none can today: every setting is read at start). */
  isEditable: boolean;
}

/** The groups the settings page shows, in order. */
export const SETTING_GROUPS = ['delivery', 'schedules', 'retention', 'rateLimits', 'scoring', 'loyalty', 'feedback'] as const;
/** A group of settings. */
export type SettingGroup = (typeof SETTING_GROUPS)[number];

/** Every setting, by group. */
export type SettingsView = Record<SettingGroup, Setting[]>;
