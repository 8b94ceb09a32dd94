import type { Db } from '../db.js';
import type { SyncProgress, SyncRun } from '../../domain/customers/sync-run.types.js';

interface Row {
  id: string;
  started_at: number | string;
  finished_at: number | string | null;
  status: SyncRun['status'];
  progress: string | null;
}

function map(r: Row): SyncRun {
  return {
    id: r.id,
    startedAt: new Date(Number(r.started_at)),
    finishedAt: r.finished_at === null ? null : new Date(Number(r.finished_at)),
    status: r.status,
    progress: JSON.parse(r.progress ?? '{}') as SyncProgress,
  };
}

/** Full-sync runs and their resumable progress. */
export class SyncRunRepository {
  constructor(private readonly db: Db) {}

  /** Start a run. */
  async create(id: string, progress: SyncProgress, now: number): Promise<SyncRun> {
    await this.db.query('INSERT INTO sync_runs (id, started_at, status, progress, updated_at) VALUES (?,?,?,?,?)', [id, now, 'running', JSON.stringify(progress), now]);
    return { id, startedAt: new Date(now), finishedAt: null, status: 'running', progress };
  }

  /** The newest unfinished run, to resume after a crash. */
  async findUnfinished(): Promise<SyncRun | null> {
    const rows = await this.db.query<Row>("SELECT * FROM sync_runs WHERE status = 'running' ORDER BY started_at DESC LIMIT 1");
    return rows[0] ? map(rows[0]) : null;
  }

  /** Save progress. */
  async saveProgress(id: string, progress: SyncProgress, now: number): Promise<void> {
    await this.db.query('UPDATE sync_runs SET progress = ?, updated_at = ? WHERE id = ?', [JSON.stringify(progress), now, id]);
  }

  /** Close a run. */
  async finish(id: string, status: 'done' | 'failed', progress: SyncProgress, now: number): Promise<void> {
    await this.db.query('UPDATE sync_runs SET status = ?, progress = ?, finished_at = ?, updated_at = ? WHERE id = ?', [status, JSON.stringify(progress), now, now, id]);
  }

  /** The most recent runs. */
  async list(limit = 20): Promise<SyncRun[]> {
    return (await this.db.query<Row>('SELECT * FROM sync_runs ORDER BY started_at DESC LIMIT ?', [limit])).map(map);
  }
}
