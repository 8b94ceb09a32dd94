/** A promise that was not settled within its deadline. Its work may still finish later; nobody waits for it. */
export class DeadlineError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/**
 * `p`, or a DeadlineError after `ms`. A late rejection of `p` is swallowed: the caller has answered by then. This
 * only stops waiting; cancelling the work is the caller's business (e.g. Db.queryDurable's own statement timeout).
 */
export async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DeadlineError(ms)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
