import type { Db } from '../db.js';
import type { BulkTagJob, BulkTagProgress, NewBulkTagJob } from '../../domain/customers/bulk-tag.types.js';

interface JobRow {
  id: string;
  status: 'running' | 'done';
  requested_by: string;
  viewer_role: 'admin' | 'operator' | 'staff';
  viewer_userid: string | null;
  add_tag_ids: string | null;
  remove_tag_ids: string | null;
  total: number | string;
  created_at: number | string;
  finished_at: number | string | null;
}

const ITEM_CHUNK = 500;

function toJob(r: JobRow): BulkTagJob {
  return {
    id: r.id,
    status: r.status,
    requestedBy: r.requested_by,
    viewer: { role: r.viewer_role, userid: r.viewer_userid },
    addTagIds: r.add_tag_ids ? (JSON.parse(r.add_tag_ids) as string[]) : [],
    removeTagIds: r.remove_tag_ids ? (JSON.parse(r.remove_tag_ids) as string[]) : [],
    total: Number(r.total),
    createdAt: new Date(Number(r.created_at)),
    finishedAt: r.finished_at === null ? null : new Date(Number(r.finished_at)),
  };
}

/** `bulk_tag_jobs` and their `bulk_tag_items`: the durable record of a bulk tag change and how far it got. */
export class BulkTagJobRepository {
  constructor(private readonly db: Db) {}

  /** The job and one pending item per customer, in one transaction. */
  async create(job: NewBulkTagJob, now: Date): Promise<void> {
    const at = now.getTime();
    await this.db.tx(async (em) => {
      await em.query(
        `INSERT INTO bulk_tag_jobs (id, status, requested_by, viewer_role, viewer_userid, add_tag_ids, remove_tag_ids, total, created_at, updated_at)
         VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)`,
        [job.id, job.requestedBy, job.viewer.role, job.viewer.userid, JSON.stringify(job.addTagIds), JSON.stringify(job.removeTagIds), job.customers.length, at, at],
      );
      for (let i = 0; i < job.customers.length; i += ITEM_CHUNK) {
        const chunk = job.customers.slice(i, i + ITEM_CHUNK);
        await em.query(
          `INSERT INTO bulk_tag_items (job_id, external_user_id, status, updated_at) VALUES ${chunk.map(() => "(?, ?, 'pending', ?)").join(', ')}`,
          chunk.flatMap((ext) => [job.id, ext, at]),
        );
      }
    });
  }

  async find(id: string): Promise<BulkTagJob | null> {
    const [r] = await this.db.query<JobRow>('SELECT * FROM bulk_tag_jobs WHERE id = ?', [id]);
    return r ? toJob(r) : null;
  }

  /**
   * Take the job's lease when nobody holds it (or the holder's has run out): a compare-and-set, so of two workers
   * only one runs a job at a time. True when taken.
   */
  async lease(id: string, owner: string, now: Date, ms: number): Promise<boolean> {
    const changed = await this.db.exec(
      `UPDATE bulk_tag_jobs SET lease_owner = ?, lease_until = ? WHERE id = ? AND status = 'running' AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)`,
      [owner, now.getTime() + ms, id, now.getTime(), owner],
    );
    return changed === 1;
  }

  /** Running jobs whose lease is free or has run out (a worker that stopped): for the `bulk-tags` job to resume. */
  async abandoned(now: Date, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM bulk_tag_jobs WHERE status = 'running' AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at LIMIT ?`,
      [now.getTime(), limit],
    );
    return rows.map((r) => r.id);
  }

  /** The next pending customers of a job, in id order. */
  async pending(id: string, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ external_user_id: string }>(
      `SELECT external_user_id FROM bulk_tag_items WHERE job_id = ? AND status = 'pending' ORDER BY external_user_id LIMIT ?`,
      [id, limit],
    );
    return rows.map((r) => r.external_user_id);
  }

  /** One customer's outcome. */
  async settle(id: string, ext: string, outcome: { status: 'done' | 'failed'; error?: string | null }, now: Date): Promise<void> {
    await this.db.exec(`UPDATE bulk_tag_items SET status = ?, error = ?, updated_at = ? WHERE job_id = ? AND external_user_id = ?`, [
      outcome.status,
      outcome.error?.slice(0, 255) ?? null,
      now.getTime(),
      id,
      ext,
    ]);
  }

  /** The job is finished (only by the lease holder) and its lease released. */
  async finish(id: string, owner: string, now: Date): Promise<void> {
    await this.db.exec(`UPDATE bulk_tag_jobs SET status = 'done', finished_at = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`, [
      now.getTime(),
      now.getTime(),
      id,
      owner,
    ]);
  }

  /** Give the lease back without finishing (the worker stops; another takes over at once). */
  async release(id: string, owner: string): Promise<void> {
    await this.db.exec('UPDATE bulk_tag_jobs SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?', [id, owner]);
  }

  /** How far a job got: its items by status, and the first failures with their reasons. */
  async progress(id: string, failuresShown = 20): Promise<BulkTagProgress> {
    const counts = await this.db.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM bulk_tag_items WHERE job_id = ? GROUP BY status', [id]);
    const by = new Map(counts.map((c) => [c.status, Number(c.n)]));
    const failures = await this.db.query<{ external_user_id: string; error: string | null }>(
      `SELECT external_user_id, error FROM bulk_tag_items WHERE job_id = ? AND status = 'failed' ORDER BY external_user_id LIMIT ?`,
      [id, failuresShown],
    );
    return {
      pending: by.get('pending') ?? 0,
      done: by.get('done') ?? 0,
      failed: by.get('failed') ?? 0,
      failures: failures.map((f) => ({ externalUserId: f.external_user_id, error: f.error ?? '' })),
    };
  }
}
