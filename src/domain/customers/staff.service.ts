import type { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import type { StaffMember } from './staff.types.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { NotFoundError, WecomApiError } from '../../shared/errors.js';

/**
 * errcodes with which user/get (读取成员, doc path/90196) refuses one member while the API itself works
 * (docs/wecom-protocol.md §Error codes): 60011 outside the app's visible range, 60111 no such userid, 40003 an invalid
 * or resigned userid. The member keeps whatever name the bot has; anything else is an operational error and propagates.
 */
const MEMBER_HIDDEN = new Set([60011, 60111, 40003]);

/**
 * user/get calls in flight at once: parallel reads draw 45033 (docs/wecom-protocol.md §API rate limits).
 */
const NAME_CONCURRENCY = 5;

/** The staff.name column holds 100 characters; WeCom's names are 1–64 (doc path/90195). */
const NAME_MAX = 100;

/** What a name refresh found. */
export interface StaffNamesReport {
  /** Members whose WeCom name was read. */
  named: number;
  /** Members WeCom would not show (60011/60111/40003), sorted; their display name stays as it was. */
  unavailable: string[];
}

/**
 * Staff members and their display names ({{staff}} in welcome and care templates). Names come from WeCom's
 * user/get; an operator may set one by hand when WeCom will not reveal it. Precedence: a manual name always
 * wins and no sync touches it; a WeCom name replaces only an earlier WeCom name (or none); a refused lookup
 * changes nothing; with no name at all the userid is shown.
 */
export class StaffService {
  constructor(
    private readonly staff: StaffRepository,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The name to show for a member (templates' {{staff}}, the sidebar): their WeCom name, else the userid. */
  displayName(userid: string): Promise<string> {
    return this.staff.displayName(userid);
  }

  /** One member, or null when the archive has not seen them. */
  find(userid: string): Promise<StaffMember | null> {
    return this.staff.find(userid);
  }

  /** A page of staff, by userid. */
  list(page: number, pageSize: number): Promise<{ items: StaffMember[]; total: number }> {
    return this.staff.list(page, pageSize);
  }

  /** Set (or with '' clear) an operator's display name for a known member; NotFoundError otherwise. */
  async rename(userid: string, name: string): Promise<StaffMember> {
    const member = await this.staff.setManualName(userid, name.trim(), this.clock.now().getTime());
    if (!member) throw new NotFoundError(`未找到员工 ${userid}`, 'staff_not_found');
    return member;
  }

  /**
   * Record the members a sync listed (get_follow_user_list, docs/wecom-protocol.md §Staff and customer lists); names
   * are left alone.
   */
  recordListed(userids: string[]): Promise<void> {
    return this.staff.upsertMany(userids, this.clock.now().getTime());
  }

  /**
   * Read every member's name from WeCom and store it under the precedence rule above. A member WeCom refuses
   * is counted and logged once; any other error propagates after the names read so far are stored.
   */
  async refreshNames(userids: string[]): Promise<StaffNamesReport> {
    const queue = [...new Set(userids)];
    const found: Array<{ userid: string; name: string }> = [];
    const unavailable: string[] = [];
    let failure: { err: unknown } | null = null;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (failure === null && next < queue.length) {
        const userid = queue[next++];
        try {
          const member = await this.wecom.getMember(userid);
          if (member.name) found.push({ userid, name: member.name.slice(0, NAME_MAX) });
          else unavailable.push(userid);
        } catch (err) {
          if (!(err instanceof WecomApiError && MEMBER_HIDDEN.has(err.errcode))) {
            failure = { err };
            return;
          }
          unavailable.push(userid);
          this.log.warn({ userid, errcode: err.errcode }, 'WeCom will not show this staff member; their display name is left as it is');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(NAME_CONCURRENCY, queue.length) }, worker));
    await this.staff.setWecomNames(found, this.clock.now().getTime());
    if (failure !== null) throw (failure as { err: unknown }).err;
    return { named: found.length, unavailable: unavailable.sort() };
  }

  /**
   * Look up the names of members never looked up before (new since the last sync). Channels call this when
   * their staff change, so the welcome's {{staff}} has a name without a WeCom call on the 20 s welcome path
   * (docs/wecom-protocol.md §Welcome messages).
   */
  async ensureNames(userids: string[]): Promise<StaffNamesReport> {
    const unnamed = await this.staff.findUnnamed([...new Set(userids)]);
    return unnamed.length > 0 ? this.refreshNames(unnamed) : { named: 0, unavailable: [] };
  }
}
