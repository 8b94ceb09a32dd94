import type { Note } from '../../domain/customers/note.types.js';

/** A follow-up note: `dueDate` is a local 'YYYY-MM-DD' date, `doneAt` null while open. */
export function presentNote(n: Note) {
  return {
    id: n.id,
    externalUserId: n.externalUserId,
    text: n.text,
    dueDate: n.dueDate,
    userid: n.userid,
    createdAt: n.createdAt.toISOString(),
    doneAt: n.doneAt?.toISOString() ?? null,
  };
}
