import type { BulkTagJobRepository } from '../../persistence/repositories/bulk-tag-job.repository.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { NotFoundError, ValidationError, WecomApiError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { CustomerService, Viewer } from './customer.service.js';
import type { BulkTagJob, BulkTagProgress } from './bulk-tag.types.js';

/** Most customers one bulk change covers; past it the request is refused and the operator narrows the audience. */
export const MAX_BULK_CUSTOMERS = 5_000;
/** How long a request waits for its job before answering with the job to follow (202). */
const ANSWER_WITHIN_MS = 4_000;
/** A worker's hold on a job, renewed every batch; a worker that stops loses it and another resumes the job. */
const LEASE_MS = 60_000;
const BATCH = 20;

/** What a bulk change asks for. Exactly one of `customers` (hand-picked) and `audience` (all matching a filter). */
export interface BulkTagInput {
  customers?: string[];
  audience?: string;
  add: string[];
  remove: string[];
}

/** A job and how far it got. */
export interface BulkTagStatus {
  job: BulkTagJob;
  progress: BulkTagProgress;
  /** Hand-picked customers left out: unknown, or (staff) not theirs. */
  skipped?: number;
}

/**
 * 批量打标签 / 移除标签 (docs/customers-bulk.md): the same tag change as one customer's edit, for many. The customers and tags
 * are resolved when asked (tags that do not exist are created for operators, as in a single edit), recorded as a job
 * with one item per customer, and worked through under a lease: each customer goes through CustomerService's
 * applyTagChange, so WeCom's mark_tag with its rate limits and retries, then the archive. A request waits a few seconds
 * for its job, so a small selection answers done; a large one answers the job, whose progress the console polls. A
 * restart or a second instance resumes an unfinished job (the `bulk-tags` job); mark_tag is idempotent, so a customer
 * handled twice is tagged once.
 */
export class BulkTaggingService {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly jobs: BulkTagJobRepository,
    private readonly customers: CustomerService,
    private readonly tags: Pick<TagRepository, 'findByIds'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly instanceId: string,
    /** Most customers per request (MAX_BULK_CUSTOMERS); tests lower it to reach the bound. */
    private readonly maxCustomers = MAX_BULK_CUSTOMERS,
  ) {}

  /** Record the job and start it; answers once it is done or after a few seconds, whichever is first. */
  async request(input: BulkTagInput, viewer: Viewer, requestedBy: string): Promise<BulkTagStatus> {
    if ((input.customers === undefined) === (input.audience === undefined)) {
      throw new ValidationError('请选择客户，或按筛选条件选择全部客户（customers 与 audience 二选一）', { fields: { customers: '请选择客户' } }, 'customers_or_audience');
    }
    if (input.add.length === 0 && input.remove.length === 0) {
      throw new ValidationError('请选择要添加或移除的标签', { fields: { add: '请选择要添加或移除的标签' } }, 'no_tags');
    }
    const field = input.customers ? 'customers' : 'audience';
    const ids = await this.customers.visibleIds(input, viewer, this.maxCustomers + 1);
    if (ids.length > this.maxCustomers) {
      const message = `一次最多为 ${this.maxCustomers} 位客户批量修改标签，请缩小筛选条件后分批进行`;
      throw new ValidationError(message, { fields: { [field]: message } }, 'too_many_customers');
    }
    if (ids.length === 0) {
      const message = input.customers ? '所选客户不存在或不在您的跟进范围内' : '没有符合筛选条件的客户';
      throw new ValidationError(message, { fields: { [field]: message } }, 'no_customers');
    }
    const { add, removeIds } = await this.customers.resolveTagChange({ add: input.add, remove: input.remove }, viewer);
    const now = this.clock.now();
    const id = newId(now.getTime());
    await this.jobs.create({ id, requestedBy, viewer: { role: viewer.role, userid: viewer.userid }, addTagIds: add.map((t) => t.id), removeTagIds: removeIds, customers: ids }, now);
    this.log.info({ jobId: id, customers: ids.length, add: add.length, remove: removeIds.length }, 'bulk tag job created');
    const run = this.start(id);
    await Promise.race([run, new Promise((r) => setTimeout(r, ANSWER_WITHIN_MS).unref())]);
    const status = await this.status(id, viewer);
    return input.customers ? { ...status, skipped: new Set(input.customers).size - ids.length } : status;
  }

  /** A job and its progress; a staff viewer sees only the jobs they asked for. */
  async status(id: string, viewer: Viewer): Promise<BulkTagStatus> {
    const job = await this.jobs.find(id);
    if (!job || (viewer.role === 'staff' && job.viewer.userid !== viewer.userid)) throw new NotFoundError('批量任务不存在', 'bulk_job_not_found');
    return { job, progress: await this.jobs.progress(id) };
  }

  /** Resume jobs nobody is working on (after a restart or a stopped instance). Returns how many were resumed. */
  async resumeAbandoned(): Promise<{ resumed: number }> {
    const ids = await this.jobs.abandoned(this.clock.now(), 10);
    await Promise.all(ids.map((id) => this.start(id)));
    return { resumed: ids.length };
  }

  /** Work through a job in this process, unless it already is; resolves when this run ends. */
  start(id: string): Promise<void> {
    const current = this.running.get(id);
    if (current) return current;
    const run = this.work(id)
      .catch((err: unknown) => this.log.warn({ jobId: id, err: (err as Error).message }, 'bulk tag job stopped; it resumes later'))
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
    return run;
  }

  private async work(id: string): Promise<void> {
    const owner = `${this.instanceId}:${id}`;
    if (!(await this.jobs.lease(id, owner, this.clock.now(), LEASE_MS))) return;
    const job = await this.jobs.find(id);
    if (!job) return;
    const add = await this.tags.findByIds(job.addTagIds);
    try {
      for (;;) {
        const batch = await this.jobs.pending(id, BATCH);
        if (batch.length === 0) break;
        for (const ext of batch) {
          try {
            await this.customers.applyTagChange(ext, add, job.removeTagIds);
            await this.jobs.settle(id, ext, { status: 'done' }, this.clock.now());
          } catch (err) {
            // One customer's WeCom refusal never stops the others; what went wrong is kept with the customer. Anything
            // else (the database) stops the run, and the job resumes from the same customer.
            if (!(err instanceof WecomApiError)) throw err;
            await this.jobs.settle(id, ext, { status: 'failed', error: `企业微信拒绝（${err.errcode}）：${err.errmsg}` }, this.clock.now());
          }
        }
        if (!(await this.jobs.lease(id, owner, this.clock.now(), LEASE_MS))) return;
      }
      await this.jobs.finish(id, owner, this.clock.now());
      this.log.info({ jobId: id }, 'bulk tag job done');
    } catch (err) {
      await this.jobs.release(id, owner).catch(() => undefined);
      throw err;
    }
  }
}
