import type { Container } from '../../container.js';
import { featureSlot } from '../../shared/feature-slot.js';
import { SecretRepository } from '../../persistence/repositories/secret.repository.js';
import { DataKeysService } from './data-keys.service.js';

/** DATA_KEY management, for the CLI, the privacy module and tests. */
export interface KeysModule {
  keys: DataKeysService;
  /** The stable key erased customers' ids are hashed under (see DataKeysService.erasureKey). */
  erasureKey: Buffer;
}

const modules = featureSlot<KeysModule>('keys');

/** The keys module of a container (throws if `registerKeys` did not run). */
export function keysOf(c: Container): KeysModule {
  return modules.of(c);
}

/**
 * Check that DATA_KEY (and DATA_KEY_READ_ONLY) open this database, and load the erasure key. Runs first among the
 * features: a wrong key stops the start here, before anything is written under it.
 */
export async function registerKeys(c: Container): Promise<void> {
  const keys = new DataKeysService(c.db, c.cipher, new SecretRepository(c.db, c.cipher), c.log.child({ component: 'keys' }));
  const erasureKey = await keys.erasureKey(c.clock.now().getTime());
  modules.set(c, { keys, erasureKey });
}
