import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { CounterDeltaRepository } from './counter-delta.repository.js';
import { NotFoundError } from '../../shared/errors.js';
import type { Channel, ChannelDayStats, ChannelWelcome } from '../../domain/channels/channel.types.js';

interface Row {
  id: string;
  name: string;
  state: string;
  config_id: string | null;
  qr_code: string | null;
  staff: string | null;
  tags: string | null;
  welcome: string | null;
  created_at: number | string;
  updated_at: number | string;
}

function map(r: Row): Channel {
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    configId: r.config_id,
    qrCode: r.qr_code,
    staff: r.staff ? (JSON.parse(r.staff) as string[]) : [],
    tags: r.tags ? (JSON.parse(r.tags) as string[]) : [],
    welcome: r.welcome ? (JSON.parse(r.welcome) as ChannelWelcome) : null,
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/** Channels and their daily statistics. */
export class ChannelRepository {
  /** On MySQL a channel's day row is counted through deltas (docs/analytics.md §Counters every add shares). */
  private readonly deltas: CounterDeltaRepository;

  constructor(private readonly db: Db) {
    this.deltas = new CounterDeltaRepository(db);
  }

  /** Insert a channel; false when the state is already taken. */
  async insert(c: Channel): Promise<boolean> {
    return this.db.writeUnique(
      'INSERT INTO channels (id, name, state, config_id, qr_code, staff, tags, welcome, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)',
      [c.id, c.name, c.state, c.configId, c.qrCode, JSON.stringify(c.staff), JSON.stringify(c.tags), c.welcome ? JSON.stringify(c.welcome) : null, c.createdAt.getTime(), c.updatedAt.getTime()],
    );
  }

  /** Overwrite a channel's editable fields and its WeCom ids. */
  async update(c: Channel): Promise<void> {
    await this.db.query('UPDATE channels SET name = ?, config_id = ?, qr_code = ?, staff = ?, tags = ?, welcome = ?, updated_at = ? WHERE id = ?', [
      c.name,
      c.configId,
      c.qrCode,
      JSON.stringify(c.staff),
      JSON.stringify(c.tags),
      c.welcome ? JSON.stringify(c.welcome) : null,
      c.updatedAt.getTime(),
      c.id,
    ]);
  }

  /** Remove a channel row (used to undo an insert when WeCom refuses the contact way). */
  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM channels WHERE id = ?', [id]);
  }

  /** The channel or NotFoundError. */
  async get(id: string): Promise<Channel> {
    const rows = await this.db.query<Row>('SELECT * FROM channels WHERE id = ?', [id]);
    if (!rows[0]) throw new NotFoundError('渠道不存在', 'channel_not_found');
    return map(rows[0]);
  }

  /** The channel whose contact way carries this state, or null. */
  async findByState(state: string): Promise<Channel | null> {
    const rows = await this.db.query<Row>('SELECT * FROM channels WHERE state = ?', [state]);
    return rows[0] ? map(rows[0]) : null;
  }

  /** findByState inside a caller's transaction. */
  async findByStateInTx(em: EntityManager, state: string): Promise<Channel | null> {
    const rows: Row[] = await em.query('SELECT * FROM channels WHERE state = ?', [state]);
    return rows[0] ? map(rows[0]) : null;
  }

  /** A page of channels, newest first. */
  async list(page: number, pageSize: number): Promise<{ items: Channel[]; total: number }> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM channels');
    const rows = await this.db.query<Row>('SELECT * FROM channels ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?', [pageSize, (page - 1) * pageSize]);
    return { items: rows.map(map), total: Number(n) };
  }

  /** Count one add or delete on a channel's day, inside the transaction that made the relation change. */
  async bumpInTx(em: EntityManager, channelId: string, day: string, field: 'adds' | 'deletes'): Promise<void> {
    // Every add through a live QR code counts on this one row: on MySQL its lock would be held to each add's commit.
    // (MySQL counts through deltas; SQLite, with one writer at a time, updates the row in place.)
    if (this.deltas.isDeferred) return this.deltas.addInTx(em, [{ target: 'channel_stats', day, channelId, col: field, delta: 1 }]);
    await em.query(
      `INSERT INTO channel_stats (channel_id, day, adds, deletes) VALUES (?,?,?,?) ON CONFLICT(channel_id, day) DO UPDATE SET ${field} = ${field} + 1`,
      [channelId, day, field === 'adds' ? 1 : 0, field === 'deletes' ? 1 : 0],
    );
  }

  /** Daily stats of a channel on the days from `from` to `to` (inclusive, YYYY-MM-DD), oldest first. */
  async statsBetween(channelId: string, from: string, to: string): Promise<ChannelDayStats[]> {
    await this.deltas.foldIfPending();
    const rows = await this.db.query<{ day: string; adds: number | string; deletes: number | string }>(
      'SELECT day, adds, deletes FROM channel_stats WHERE channel_id = ? AND day >= ? AND day <= ? ORDER BY day',
      [channelId, from, to],
    );
    return rows.map((r) => ({ day: r.day, adds: Number(r.adds), deletes: Number(r.deletes) }));
  }

  /** Daily stats of a channel, oldest first. */
  async stats(channelId: string): Promise<ChannelDayStats[]> {
    await this.deltas.foldIfPending();
    const rows = await this.db.query<{ day: string; adds: number | string; deletes: number | string }>(
      'SELECT day, adds, deletes FROM channel_stats WHERE channel_id = ? ORDER BY day',
      [channelId],
    );
    return rows.map((r) => ({ day: r.day, adds: Number(r.adds), deletes: Number(r.deletes) }));
  }
}
