import type { GroupSopRepository } from '../../persistence/repositories/group-sop.repository.js';
import type { StaffMessenger } from '../notify/staff-messenger.js';
import type { Logger } from '../../shared/logger.js';
import { toError } from '../../shared/errors.js';
import { localParts } from '../../shared/dates.js';
import { WECOM_APP_TEXT_MAX_BYTES, byteLength } from '../../shared/template.js';
import type { GroupPostPort, SopFire, SopGroup, SopOperation, SopPlan, SopStep, SopTarget } from './group-sop.types.js';
import { dueFires } from './sop-schedule.js';

/** How far back a scan looks after downtime: older fires are neither run nor reported. */
export const SOP_LOOKBACK_MS = 31 * 86_400_000;
/** A claim not acted on after this long is presumed dead (its instance crashed) and taken over within the window. */
export const SOP_STALE_CLAIM_MS = 5 * 60_000;

/** What a reminder asks the owner to do, in their words. */
export const SOP_OPERATION_TEXT: Record<SopOperation, string> = { notice: '发布群公告', at_all: '在群里 @所有人 发送', other: '在群里完成' };

/** Counts of one run. */
export interface SopRunCounts {
  plans: number;
  claimed: number;
  missed: number;
  posted: number;
  reminded: number;
  failed: number;
  takenOver: number;
  confirmed: number;
}

/** The reminder's link: a signed token for (link id, expiry), and the page that opens it. */
export interface SopLinks {
  /** A stable id for one owner's fires of one step and time, so a retried reminder is the same message. */
  idOf(parts: string): string;
  /** The page's URL for `linkId`, or null when the bot's public address is not known yet. */
  urlOf(linkId: string, expiresAt: Date): string | null;
}

/** What the runner needs. */
export interface GroupSopRunnerDeps {
  repo: GroupSopRepository;
  /** The groups a target names (the group archive). */
  groups: (target: SopTarget) => Promise<SopGroup[]>;
  /** The group broadcast service; null until it is wired, and then post steps fail with a reason. */
  poster: GroupPostPort | null;
  messenger: Pick<StaffMessenger, 'send'>;
  links: SopLinks;
  tz: string;
  instanceId: string;
  log: Logger;
}

/** A reminder link works this long after its fire time. */
const LINK_DAYS = 7;

/**
 * Runs group SOP plans (docs/groups.md §Group SOP): each minute's run claims every (plan, step, group, fire time) that
 * came due since the plan's watermark, acts on the ones it won, records the ones whose window passed unrun as missed,
 * takes over claims a crashed instance left, and follows posts to their owners' confirmation. The claim row decides,
 * so overlapping runs on several instances act on each fire once (docs/groups.md §Once per fire).
 */
export class GroupSopRunner {
  constructor(private readonly d: GroupSopRunnerDeps) {}

  /** One pass at `now`. A dry run reports what would be claimed and writes nothing. */
  async runDue(now: Date, opts: { isDryRun?: boolean; report?: (line: string) => void } = {}): Promise<SopRunCounts> {
    const counts: SopRunCounts = { plans: 0, claimed: 0, missed: 0, posted: 0, reminded: 0, failed: 0, takenOver: 0, confirmed: 0 };
    const plans = await this.d.repo.activePlans();
    const byId = new Map(plans.map((p) => [p.id, p]));
    for (const plan of plans) {
      counts.plans += 1;
      try {
        await this.scanPlan(plan, now, counts, opts);
      } catch (err) {
        // One plan's failure (its target query, WeCom) leaves its watermark where it was: the next minute retries it.
        this.d.log.warn({ err: toError(err), planId: plan.id }, 'group SOP plan scan failed');
      }
    }
    if (opts.isDryRun) return counts;
    await this.takeOverStale(now, byId, counts);
    await this.followPosts(now, counts);
    return counts;
  }

  private async scanPlan(plan: SopPlan, now: Date, counts: SopRunCounts, opts: { isDryRun?: boolean; report?: (line: string) => void }): Promise<void> {
    const from = new Date(Math.max(plan.scannedUntil.getTime(), plan.activeSince.getTime(), now.getTime() - SOP_LOOKBACK_MS));
    if (from.getTime() >= now.getTime()) return;
    // A recurring plan with nothing due in the span needs no group query (the common minute).
    if (plan.schedule.kind === 'recurring' && dueFires(plan, [{ chatId: '-', name: '', owner: null, createdAt: null }], from, now, this.d.tz).length === 0) {
      if (!opts.isDryRun) await this.d.repo.advanceScan(plan.id, now);
      return;
    }
    const fires = dueFires(plan, await this.d.groups(plan.target), from, now, this.d.tz);
    const windowMs = plan.windowMinutes * 60_000;
    const won: { step: SopStep; fire: SopFire; group: SopGroup }[] = [];
    for (const f of fires) {
      const key = { planId: plan.id, stepId: f.step.id, chatId: f.group.chatId, fireAt: f.fireAt, owner: f.group.owner };
      if (opts.isDryRun) {
        opts.report?.(`${plan.name}\t${f.step.title}\t${f.group.name || f.group.chatId}\t${f.fireAt.toISOString()}\t${f.fireAt.getTime() + windowMs < now.getTime() ? '已过窗口 / missed' : f.step.action}`);
        continue;
      }
      if (f.fireAt.getTime() + windowMs < now.getTime()) {
        if (await this.d.repo.recordMissed(key, '到点时服务未运行，已过执行窗口', this.d.instanceId, now)) counts.missed += 1;
        continue;
      }
      const fire = await this.d.repo.claim(key, this.d.instanceId, now);
      if (fire) won.push({ step: f.step, fire, group: f.group });
    }
    if (opts.isDryRun) return;
    counts.claimed += won.length;
    await this.act(plan, won, now, counts);
    await this.d.repo.advanceScan(plan.id, now);
  }

  /** Act on won fires: one post per step and time for all their groups, one reminder per owner, step and time. */
  private async act(plan: SopPlan, won: { step: SopStep; fire: SopFire; group: Pick<SopGroup, 'chatId' | 'name'> }[], now: Date, counts: SopRunCounts): Promise<void> {
    const batches = new Map<string, typeof won>();
    for (const w of won) {
      const k = `${w.step.id}|${w.fire.fireAt.getTime()}`;
      const b = batches.get(k);
      if (b) b.push(w);
      else batches.set(k, [w]);
    }
    for (const batch of batches.values()) {
      const { step, fire } = batch[0];
      const ownerless = batch.filter((w) => !w.fire.owner);
      if (ownerless.length > 0) {
        await this.d.repo.markFailed(ownerless.map((w) => w.fire.id), '群没有群主（群主已离职或待继承）');
        counts.failed += ownerless.length;
      }
      const owned = batch.filter((w) => w.fire.owner);
      if (owned.length === 0) continue;
      try {
        if (step.action === 'post') await this.post(plan, step, fire.fireAt, owned, now, counts);
        else await this.remind(plan, step, fire.fireAt, owned, now, counts);
      } catch (err) {
        // Left `claimed`: after SOP_STALE_CLAIM_MS a later run takes the fires over while their window lasts.
        this.d.log.warn({ err: toError(err), planId: plan.id, stepId: step.id, groups: owned.length }, 'group SOP step failed; retried while its window lasts');
      }
    }
  }

  private async post(plan: SopPlan, step: SopStep, fireAt: Date, batch: { fire: SopFire }[], now: Date, counts: SopRunCounts): Promise<void> {
    const ids = batch.map((w) => w.fire.id);
    if (!this.d.poster) {
      await this.d.repo.markFailed(ids, '群发服务未启用');
      counts.failed += ids.length;
      return;
    }
    // The key names the fire, so a retry after a crash is the same send and the broadcast service sends nothing twice.
    const { included } = await this.d.poster.post({ key: postKey(plan.id, step.id, fireAt), groups: batch.map((w) => ({ chatId: w.fire.chatId, owner: w.fire.owner! })), text: step.text });
    const taken = new Set(included);
    const posted = batch.filter((w) => taken.has(w.fire.chatId)).map((w) => w.fire.id);
    const left = batch.filter((w) => !taken.has(w.fire.chatId)).map((w) => w.fire.id);
    if (posted.length > 0) await this.d.repo.markActed(posted, 'posted', now);
    if (left.length > 0) await this.d.repo.markFailed(left, '群不可发送：群主已离职或群已解散');
    counts.posted += posted.length;
    counts.failed += left.length;
  }

  private async remind(plan: SopPlan, step: SopStep, fireAt: Date, batch: { fire: SopFire; group: Pick<SopGroup, 'chatId' | 'name'> }[], now: Date, counts: SopRunCounts): Promise<void> {
    const byOwner = new Map<string, typeof batch>();
    for (const w of batch) {
      const b = byOwner.get(w.fire.owner!);
      if (b) b.push(w);
      else byOwner.set(w.fire.owner!, [w]);
    }
    const op = SOP_OPERATION_TEXT[step.operation ?? 'other'];
    const p = localParts(fireAt, this.d.tz);
    const due = `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
    for (const [owner, ws] of byOwner) {
      const linkId = this.d.links.idOf(`${plan.id}|${step.id}|${fireAt.getTime()}|${owner}`);
      const url = this.d.links.urlOf(linkId, new Date(fireAt.getTime() + LINK_DAYS * 86_400_000));
      const names = ws.map((w) => w.group.name || '未命名群');
      const groupsText = names.length <= 3 ? names.join('、') : `${names.slice(0, 3).join('、')} 等 ${names.length} 个群`;
      const title = cutBytes(`群SOP：请${op}（${step.title}）`, 128);
      const description = cutBytes(`${plan.name}\n群：${groupsText}\n${due} 起 ${plan.windowMinutes} 分钟内完成，完成后在页面上确认。\n内容：${step.text}`, 512);
      const text = cutBytes(`【群SOP】请在 ${groupsText} ${op}（${step.title}，${due} 起 ${plan.windowMinutes} 分钟内）${url ? `\n内容与确认：${url}` : ''}\n\n${step.text}`, WECOM_APP_TEXT_MAX_BYTES);
      try {
        await this.d.messenger.send([owner], text, {
          kind: 'group_sop',
          digestLine: `群SOP「${step.title}」：请在 ${groupsText} ${op}${url ? ` ${url}` : ''}`,
          content: url ? { msgtype: 'textcard', title, description, url, btnText: '查看并确认' } : undefined,
          isDuplicateChecked: true,
        });
      } catch (err) {
        // This owner's fires stay `claimed` and are taken over later in their window; the other owners go on.
        this.d.log.warn({ err: toError(err), planId: plan.id, stepId: step.id, owner }, 'group SOP reminder failed; retried while its window lasts');
        continue;
      }
      await this.d.repo.markActed(ws.map((w) => w.fire.id), 'reminded', now, linkId);
      counts.reminded += ws.length;
    }
  }

  /** Claims a crashed instance left: taken over while their window lasts, else failed with the reason. */
  private async takeOverStale(now: Date, plans: Map<string, SopPlan>, counts: SopRunCounts): Promise<void> {
    const stale = await this.d.repo.staleClaims(new Date(now.getTime() - SOP_STALE_CLAIM_MS), new Date(now.getTime() - SOP_LOOKBACK_MS));
    const byPlan = new Map<string, SopFire[]>();
    for (const f of stale) {
      const l = byPlan.get(f.planId);
      if (l) l.push(f);
      else byPlan.set(f.planId, [f]);
    }
    for (const [planId, fires] of byPlan) {
      const plan = plans.get(planId);
      if (!plan) continue;
      const expired = fires.filter((f) => f.fireAt.getTime() + plan.windowMinutes * 60_000 < now.getTime());
      if (expired.length > 0) {
        await this.d.repo.markFailed(expired.map((f) => f.id), '执行失败，重试至执行窗口结束仍未成功');
        counts.failed += expired.length;
      }
      const live: { step: SopStep; fire: SopFire; group: Pick<SopGroup, 'chatId' | 'name'> }[] = [];
      const names = await this.d.repo.groupNames(fires.map((f) => f.chatId));
      for (const f of fires) {
        if (expired.includes(f)) continue;
        const step = plan.steps.find((s) => s.id === f.stepId);
        if (!step || !(await this.d.repo.takeOver(f, this.d.instanceId, now))) continue;
        live.push({ step, fire: f, group: { chatId: f.chatId, name: names.get(f.chatId)?.name ?? '' } });
      }
      counts.takenOver += live.length;
      await this.act(plan, live, now, counts);
    }
  }

  /** Posts waiting for their owner: done when the group send went out, failed when WeCom refused it. */
  private async followPosts(now: Date, counts: SopRunCounts): Promise<void> {
    if (!this.d.poster) return;
    const open = await this.d.repo.openPosts(new Date(now.getTime() - SOP_LOOKBACK_MS));
    const byKey = new Map<string, SopFire[]>();
    for (const f of open) {
      const k = postKey(f.planId, f.stepId, f.fireAt);
      const l = byKey.get(k);
      if (l) l.push(f);
      else byKey.set(k, [f]);
    }
    for (const [key, fires] of byKey) {
      const outcomes = await this.d.poster.outcomes(key, fires.map((f) => f.chatId));
      for (const f of fires) {
        const o = outcomes.get(f.chatId);
        if (o?.state === 'sent') {
          await this.d.repo.markDone([f.id], o.sentAt);
          counts.confirmed += 1;
        } else if (o?.state === 'failed') {
          await this.d.repo.markFailed([f.id], SOP_POST_FAILURE[o.reason] ?? `发送失败：${o.reason}`);
          counts.failed += 1;
        }
      }
    }
  }
}

/** Why a group send did not go out, in the report's words (the group broadcast ledger's row states). */
const SOP_POST_FAILURE: Record<string, string> = {
  over_quota: '超出该群的群发额度，企业微信未发送',
  expired: '群主未在有效期内确认发送，任务已过期',
  cancelled: '群发已取消',
  failed: '企业微信拒绝发送',
};

/** The broadcast key of a post step's fire: one per (plan, step, time), one send per group under it. */
export function postKey(planId: string, stepId: string, fireAt: Date): string {
  return `sop:${planId}:${stepId}:${fireAt.toISOString()}`;
}

function cutBytes(s: string, max: number): string {
  if (byteLength(s) <= max) return s;
  return `${Buffer.from(s, 'utf8').subarray(0, max - 3).toString('utf8').replace(/\uFFFD$/, '')}…`;
}
