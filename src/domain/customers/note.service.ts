import type { Db } from '../../persistence/db.js';
import type { NoteRepository } from '../../persistence/repositories/note.repository.js';
import type { Note, NoteChanges } from './note.types.js';
import type { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { Clock } from '../../shared/clock.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { isLocalDate } from '../../shared/dates.js';
import { newId } from '../../shared/ids.js';
import type { CustomerService, Viewer } from './customer.service.js';

/** A new note (POST). */
export interface NoteInput {
  text: string;
  dueDate?: string | null;
  /** The staff member the note belongs to (and whom the care job reminds on the due date). */
  userid?: string | null;
}

/** Changes to a note (PATCH). `done: true` closes it, `false` reopens it. */
export interface NotePatch {
  text?: string;
  dueDate?: string | null;
  done?: boolean;
}

/** Timeline source of note entries: one entry per note, keyed by the note id. */
export const NOTE_TIMELINE_SOURCE = 'note';

function checkDueDate(value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (!isLocalDate(value)) throw new ValidationError(`dueDate 不是有效日期：${value.slice(0, 20)}（应为 YYYY-MM-DD 格式的真实日期）`, { dueDate: value }, 'invalid_date');
  return value;
}

/**
 * Staff follow-up notes (跟进记录). Whoever may see a customer may read its notes; staff write notes as themselves
 * and change only their own, admins and operators anything. An open note due today makes the care job remind its
 * staff member; closing it (doneAt) stops that.
 */
export class NoteService {
  constructor(
    private readonly db: Db,
    private readonly notes: NoteRepository,
    private readonly timeline: TimelineRepository,
    private readonly customers: Pick<CustomerService, 'getVisible'>,
    private readonly staff: StaffRepository,
    private readonly clock: Clock,
  ) {}

  /** A page of a customer's notes, newest first. */
  async list(ext: string, q: { status?: 'open' | 'done'; page: number; pageSize: number }, viewer: Viewer): Promise<{ items: Note[]; total: number }> {
    await this.customers.getVisible(ext, viewer);
    return this.notes.listForCustomer(ext, q);
  }

  /** Add a note and its timeline entry (kind `note`) in one transaction. */
  async add(ext: string, input: NoteInput, viewer: Viewer): Promise<Note> {
    await this.customers.getVisible(ext, viewer);
    const userid = await this.authorOf(input.userid, viewer);
    const dueDate = checkDueDate(input.dueDate) ?? null;
    const now = this.clock.now();
    const note: Note = { id: newId(now.getTime()), externalUserId: ext, userid, text: input.text, dueDate, doneAt: null, createdAt: now };
    await this.db.tx(async (em) => {
      await this.notes.insertInTx(em, note);
      await this.timeline.addInTx(
        em,
        {
          externalUserId: ext,
          staffUserid: userid,
          kind: 'note',
          summary: note.text,
          data: { noteId: note.id, dueDate },
          source: NOTE_TIMELINE_SOURCE,
          sourceId: note.id,
          occurredAt: now,
        },
        now,
      );
    });
    return note;
  }

  /** Edit text or due date, or mark done / reopen. Marking a done note done again keeps its first doneAt. */
  async update(id: string, patch: NotePatch, viewer: Viewer): Promise<Note> {
    const note = await this.editable(id, viewer);
    const changes: NoteChanges = { text: patch.text, dueDate: checkDueDate(patch.dueDate) };
    if (patch.done !== undefined) changes.doneAt = patch.done ? (note.doneAt ?? this.clock.now()) : null;
    if (!(await this.notes.update(id, changes))) throw new NotFoundError('跟进记录不存在', 'note_not_found');
    return this.notes.get(id);
  }

  /** Delete a note and its timeline entry. */
  async remove(id: string, viewer: Viewer): Promise<void> {
    await this.editable(id, viewer);
    await this.db.tx(async (em) => {
      await this.notes.deleteInTx(em, id);
      await this.timeline.removeInTx(em, NOTE_TIMELINE_SOURCE, id);
    });
  }

  /** The note if this viewer may change it: 404 when its customer is invisible to them, 403 when it is someone else's. */
  private async editable(id: string, viewer: Viewer): Promise<Note> {
    const note = await this.notes.get(id);
    try {
      await this.customers.getVisible(note.externalUserId, viewer);
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError('跟进记录不存在', 'note_not_found');
      throw err;
    }
    if (viewer.role === 'staff' && note.userid !== viewer.userid) throw new ForbiddenError('只能修改自己的跟进记录', 'not_note_author');
    return note;
  }

  /** Staff write as themselves; admins and operators may name any known staff member, else the note is theirs. */
  private async authorOf(requested: string | null | undefined, viewer: Viewer): Promise<string | null> {
    if (viewer.role === 'staff') {
      if (requested && requested !== viewer.userid) throw new ForbiddenError('员工只能以自己的名义记录跟进', 'not_note_author');
      return viewer.userid;
    }
    if (!requested) return viewer.userid;
    if (!(await this.staff.exists(requested))) throw new ValidationError(`未知的员工：${requested}`, { userid: requested }, 'unknown_staff');
    return requested;
  }
}
