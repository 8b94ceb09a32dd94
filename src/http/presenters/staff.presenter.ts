import type { StaffMember } from '../../persistence/repositories/staff.repository.js';

/** A staff member: `name` is '' when unknown (templates then show the userid); `nameSource` 'wecom' | 'manual' | null. */
export function presentStaff(m: StaffMember) {
  return { userid: m.userid, name: m.name, nameSource: m.nameSource, status: m.status, updatedAt: m.updatedAt.toISOString() };
}
