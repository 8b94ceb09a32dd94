// Staff members (WeCom members who follow customers).

/** Where a staff name came from: WeCom's user/get, or an operator. `null`: never looked up. */
export type StaffNameSource = 'wecom' | 'manual';

/** A staff member as the bot stores them. `name` is '' when unknown. */
export interface StaffMember {
  userid: string;
  name: string;
  nameSource: StaffNameSource | null;
  status: string;
  /** Sidebar sessions issued before this are refused (see StaffAccessService); null when never revoked. */
  accessRevokedAt: Date | null;
  updatedAt: Date;
}
