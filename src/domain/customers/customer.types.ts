// A customer of the archive (`customers`), as the domain and the API see it.

/** Customer activity, as audiences see it. */
export type CustomerActivity = 'active' | 'dormant' | 'churned';

/** A customer's birthday (solar or lunar). */
export interface CustomerBirthday {
  calendar: 'solar' | 'lunar';
  month: number;
  day: number;
  year: number | null;
  leapMonth: boolean;
}

/**
 * The customer profile fields WeCom owns (externalcontact/get `external_contact`,
 * docs/wecom-protocol.md §Customer details).
 */
export interface CustomerProfile {
  externalUserId: string;
  name: string;
  avatar?: string | null;
  type: number;
  gender: number;
  unionid?: string | null;
  corpName?: string | null;
  corpFullName?: string | null;
  position?: string | null;
}

/** A customer row with PII decrypted. */
export interface Customer extends CustomerProfile {
  phone: string | null;
  region: string | null;
  birthday: CustomerBirthday | null;
  channelId: string | null;
  firstAddedAt: Date | null;
  lastInteractionAt: Date | null;
  activity: CustomerActivity;
  stage: string | null;
  rfm: string | null;
  note: string | null;
  isOptedOut: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** Fields an operator may edit (PATCH). `undefined` leaves a field alone, `null` clears it. */
export interface CustomerEdits {
  birthday?: CustomerBirthday | null;
  phone?: string | null;
  note?: string | null;
  region?: string | null;
}
