import { AppError } from '../shared/errors.js';

/**
 * This site's own origin as staff browsers see it: the origin of every JS-SDK signature and of the sidebar's OAuth
 * redirect_uri. Never taken from a request (Host, X-Forwarded-Host or -Proto are the client's to write), so a forged
 * header cannot make the bot sign pages or send sign-in codes elsewhere
 * (docs/security.md §Proxies and the public origin). PUBLIC_URL when configured (required with real WeCom credentials,
 * config/schema.ts); otherwise, in sandbox mode, the server's own listen URL, learned when it starts listening
 * (`Container.onListen`).
 */
export class SelfOrigin {
  private readonly configured: string | undefined;
  private listened: string | undefined;

  constructor(publicUrl: string | undefined) {
    this.configured = publicUrl ? new URL(publicUrl).origin : undefined;
  }

  /** Called with the listen URL once the server listens (ignored when PUBLIC_URL is set). */
  learn(listenUrl: string): void {
    this.listened = new URL(listenUrl).origin;
  }

  /** The origin, or 503 before the server listens without PUBLIC_URL (nothing could reach a route then anyway). */
  get(): string {
    const origin = this.configured ?? this.listened;
    if (!origin) throw new AppError(503, 'origin_unknown', '尚不知道本站地址，请设置 PUBLIC_URL / this site\'s origin is not known yet: set PUBLIC_URL', true);
    return origin;
  }
}
