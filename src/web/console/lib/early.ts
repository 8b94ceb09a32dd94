// The first screen's two answers, asked by first-screen.ts before the app's code has loaded: the app takes them here
// instead of asking again, so nothing is requested twice. docs/architecture.md §Operator console

/** What came back: the HTTP status (0 when no answer came) and the parsed JSON body, or null. */
export interface EarlyAnswer {
  status: number;
  data: unknown;
}

/** Asked on the dashboard's address only; each is taken once. */
export interface EarlyRequests {
  me?: Promise<EarlyAnswer>;
  total?: Promise<EarlyAnswer>;
}

declare global {
  interface Window {
    __woEarly?: EarlyRequests;
  }
}

/** The early answer to `which`, once (a later sign-in or visit asks afresh), or null when none was asked. */
export function takeEarly(which: keyof EarlyRequests): Promise<EarlyAnswer> | null {
  const early = window.__woEarly;
  const p = early?.[which];
  if (early) early[which] = undefined;
  return p ?? null;
}
