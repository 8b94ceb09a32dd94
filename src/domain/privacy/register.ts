import { createHmac } from 'node:crypto';
import { featureSlot } from '../../shared/feature-slot.js';
import type { Container } from '../../container.js';
import { keysOf } from '../keys/register.js';
import { ErasureRepository } from '../../persistence/repositories/erasure.repository.js';
import { erasureRouter } from '../../http/routes/erasure.router.js';
import { ErasureService } from './erasure.service.js';
import type { ArchiveModule } from '../customers/register.js';

/** Personal-data features, for the CLI and tests. The retention job lives with the other jobs (register-scheduling). */
export interface PrivacyModule {
  erasure: ErasureService;
  repo: ErasureRepository;
}

const modules = featureSlot<PrivacyModule>('privacy');

/** The privacy module of a container (throws if `registerPrivacy` did not run). */
export function privacyOf(c: Container): PrivacyModule {
  return modules.of(c);
}

/** Wire 删除个人信息: the erasure service and `POST /api/v1/customers/:externalUserId/erase`. */
export function registerPrivacy(c: Container): void {
  const repo = new ErasureRepository(c.db);
  // The erasure key (kept in `secrets`, stable across DATA_KEY rotations: the ids behind these hashes are gone, so
  // they could never be re-hashed), with a domain prefix so a hash never equals another index value.
  const { erasureKey } = keysOf(c);
  const hashSubject = (ext: string) => createHmac('sha256', erasureKey).update(`erasure|${ext}`).digest('hex').slice(0, 32);
  const erasure = new ErasureService(repo, hashSubject, c.clock, c.log.child({ component: 'privacy' }));
  modules.set(c, { erasure, repo });
  // Erased customers stay out of the archive until a new relation (an add after the erasure) brings them back.
  const archive = (c as Container & { archive?: ArchiveModule }).archive;
  archive?.archive.setErasureCheck(async (ids) => {
    const hashes = new Map(ids.map((id) => [hashSubject(id), id]));
    const at = await repo.lastErasedAt([...hashes.keys()]);
    return new Map([...at].map(([hash, ms]) => [hashes.get(hash)!, ms]));
  });
  c.apiRouters.push(erasureRouter(erasure));
}
