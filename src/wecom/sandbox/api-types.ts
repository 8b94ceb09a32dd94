import type { MassQuotaRule } from './quota.js';
import type { SandboxStore, TokenOwner } from './store.js';

/** The corp identity the sandbox plays (same fields as SANDBOX_CORP). */
export interface SandboxCorp {
  corpId: string;
  agentId: number;
  secret: string;
  kfSecret: string;
  token: string;
  encodingAesKey: string;
}

/** Options after defaults are applied; shared by every handler. */
export interface ResolvedSandboxOptions {
  corp: SandboxCorp;
  tokenTtlSeconds: number;
  massQuota: MassQuotaRule;
  /** externalcontact/get pages follow_user beyond this many (WeCom: 500, docs/wecom-protocol.md §Customer details). */
  followUserPageSize: number;
  /**
   * get_groupmsg_* answer 41063 for this long after add_msg_template (docs/wecom-protocol.md §Mass message results); 0
   * turns it off.
   */
  groupMsgDispatchMs: number;
}

/** A file part of a multipart upload. */
export interface UploadedFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

/** One decoded API call. */
export interface ApiRequest {
  query: Record<string, string>;
  body: Record<string, unknown>;
  files: Record<string, UploadedFile>;
  /** Whose token authorised the call; null for gettoken. */
  owner: TokenOwner | null;
}

/** What handlers may use. */
export interface ApiContext {
  store: SandboxStore;
  options: ResolvedSandboxOptions;
  nowMs(): number;
  /** The address the call came in on (origin plus mount prefix), '' in-process: where the QR images are served. */
  baseUrl: string;
}

/** Which token an API accepts: none (gettoken), the app's, the KF secret's, or either. */
export type ApiAuth = 'none' | 'agent' | 'kf' | 'any';

/** One emulated endpoint under /cgi-bin/. */
export interface ApiDefinition {
  method: 'GET' | 'POST';
  auth: ApiAuth;
  /** auth/getuserinfo with a valid code is exempt from frequency limits (docs/wecom-protocol.md §API rate limits). */
  isRateLimitExempt?: boolean;
  handle(req: ApiRequest, ctx: ApiContext): Record<string, unknown>;
}

/** Endpoints keyed by their path after /cgi-bin/, which is also the api name in the call log. */
export type ApiTable = Record<string, ApiDefinition>;
