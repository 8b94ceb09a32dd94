import type { FieldCipher } from '../shared/field-cipher.js';
import { normalizePhone } from '../shared/phone.js';

/**
 * Every column encrypted under DATA_KEY, in one table, so `wecom-ops keys status|rotate` cannot miss one. The
 * repositories build their AAD with the same functions: a value is bound to its table, column and row.
 */
export interface SealedColumn {
  table: string;
  column: string;
  /** Single-column primary key, used for keyset paging and the compare-and-set update. */
  pk: string;
  /** Other columns the AAD needs. */
  aadColumns: string[];
  aad(row: Record<string, unknown>): string;
  /** Columns computed from the plaintext under the write key (a blind index), rewritten along with the value. */
  derived?(plain: string, cipher: FieldCipher): Record<string, unknown>;
}

export const aad = {
  customerPhone: (externalUserId: string) => `customers.phone|${externalUserId}`,
  remarkMobiles: (userid: string, externalUserId: string) => `follow_relations.remark_mobiles|${userid}|${externalUserId}`,
  inboxPayload: (dedupeKey: string) => `inbox_events.payload|${dedupeKey}`,
  wecomCredential: (name: string) => `wecom_credentials.value|${name}`,
  secret: (name: string) => `secrets.value|${name}`,
};

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    table: 'customers',
    column: 'phone_enc',
    pk: 'external_user_id',
    aadColumns: [],
    aad: (r) => aad.customerPhone(String(r.external_user_id)),
    // The phone's blind index moves to the write key with it, so a search needs only one key again.
    derived: (plain, cipher) => ({ phone_index: cipher.blindIndex(normalizePhone(plain)) }),
  },
  {
    table: 'follow_relations',
    column: 'remark_mobiles_enc',
    pk: 'id',
    aadColumns: ['userid', 'external_user_id'],
    aad: (r) => aad.remarkMobiles(String(r.userid), String(r.external_user_id)),
  },
  { table: 'inbox_events', column: 'payload', pk: 'id', aadColumns: ['dedupe_key'], aad: (r) => aad.inboxPayload(String(r.dedupe_key)) },
  { table: 'wecom_credentials', column: 'value_enc', pk: 'name', aadColumns: [], aad: (r) => aad.wecomCredential(String(r.name)) },
  { table: 'secrets', column: 'value_enc', pk: 'name', aadColumns: [], aad: (r) => aad.secret(String(r.name)) },
];
