import type { StaffMember } from '../../domain/customers/staff.types.js';

/**
 * A staff member: `name` is '' when unknown (templates then show the userid); `nameSource` 'wecom' | 'manual' | null;
 * `status` 'active' | 'resigned'; `accessRevokedAt` when their sidebar sessions were last revoked.
 */
export function presentStaff(m: StaffMember) {
  return {
    userid: m.userid,
    name: m.name,
    nameSource: m.nameSource,
    status: m.status,
    accessRevokedAt: m.accessRevokedAt?.toISOString() ?? null,
    updatedAt: m.updatedAt.toISOString(),
  };
}
