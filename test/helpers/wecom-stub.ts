import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A small stand-in for WeCom's HTTP API, for testing the client: a real HTTP server on 127.0.0.1
 * with an ephemeral port, WeCom's token rules (docs/wecom-protocol.md §Access tokens, §Error codes), per-path handlers,
 * faults and a call log.
 */

/** One request the stub received. */
export interface StubCall {
  /** Path under /cgi-bin/, e.g. `externalcontact/get`. */
  api: string;
  method: string;
  query: Record<string, string>;
  /** Parsed JSON body, or undefined for GET / non-JSON. */
  body: unknown;
  rawBody: Buffer;
  contentType: string;
  /** performance.now() when the request arrived (ms, sub-ms precision). */
  at: number;
  /** The secret whose token authorised the call, when it had a valid one. */
  tokenSecret?: string;
  /** The non-zero errcode the stub answered with, if any. */
  errcode?: number;
}

/** A non-200 or non-JSON reply. Return one from a handler. */
export class StubHttpReply {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType = 'text/plain',
  ) {}
}

/** A handler returns the JSON body to send with 200 (errcode 0 is added if absent) or a StubHttpReply. */
export type StubHandler = (call: StubCall) => unknown;

/** A handler that never answers; the client's timeout fires and the socket is closed at stop(). */
export const hang: StubHandler = () => new Promise(() => undefined);

/** Options of the stub. */
export interface WecomStubOptions {
  corpId?: string;
  /** Accepted secrets. */
  secrets?: string[];
  /** expires_in returned by gettoken. */
  expiresIn?: number;
}

/** The stub server. Start with `WecomStub.start()`, stop with `stop()`. */
export class WecomStub {
  readonly calls: StubCall[] = [];
  /** Every token ever issued, so tests can scan logs for them. */
  readonly issuedTokens: string[] = [];
  readonly corpId: string;
  readonly secrets: string[];
  private readonly validTokens = new Map<string, string>();
  private readonly handlers = new Map<string, StubHandler>();
  private readonly faults: Array<{ api: string; errcode: number; remaining: number }> = [];
  private tokenSeq = 0;
  private expiresIn: number;

  private constructor(
    private readonly server: http.Server,
    options: WecomStubOptions,
  ) {
    this.corpId = options.corpId ?? 'wwstubcorp';
    this.secrets = options.secrets ?? ['app-secret', 'kf-secret'];
    this.expiresIn = options.expiresIn ?? 7200;
  }

  /** Start listening on 127.0.0.1 with an ephemeral port. */
  static async start(options: WecomStubOptions = {}): Promise<WecomStub> {
    // The handler runs only once the server listens, after `stub` is set.
    const server = http.createServer((req, res) => void stub.handle(req, res));
    const stub = new WecomStub(server, options);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return stub;
  }

  /** The apiBase for the client. */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answer `api` with `handler` from now on. */
  on(api: string, handler: StubHandler): this {
    this.handlers.set(api, handler);
    return this;
  }

  /** Answer the next `count` authorised calls to `api` with `errcode`. */
  fault(api: string, errcode: number, count = 1): this {
    this.faults.push({ api, errcode, remaining: count });
    return this;
  }

  /** Make every issued token invalid, as WeCom may do at any time (docs/wecom-protocol.md §Access tokens). */
  invalidateTokens(): void {
    this.validTokens.clear();
  }

  /** Change expires_in for tokens issued from now on. */
  setExpiresIn(seconds: number): void {
    this.expiresIn = seconds;
  }

  /** Calls to one API, in arrival order. */
  callsTo(api: string): StubCall[] {
    return this.calls.filter((c) => c.api === api);
  }

  /** Stop the server and cut any hanging connections. */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://stub');
    const contentType = req.headers['content-type'] ?? '';
    let body: unknown;
    if (contentType.includes('json') && rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        body = undefined;
      }
    }
    const match = /^\/cgi-bin\/(.+)$/.exec(url.pathname);
    if (!match) return send(res, new StubHttpReply(404, 'not found'));
    const call: StubCall = {
      api: match[1],
      method: req.method ?? 'GET',
      query: Object.fromEntries(url.searchParams),
      body,
      rawBody,
      contentType,
      at,
    };
    this.calls.push(call);
    try {
      const reply = await this.reply(call);
      const code = (reply as { errcode?: unknown } | null)?.errcode;
      if (typeof code === 'number' && code !== 0) call.errcode = code;
      send(res, reply);
    } catch (err) {
      send(res, new StubHttpReply(500, String(err)));
    }
  }

  private async reply(call: StubCall): Promise<unknown> {
    if (call.api === 'gettoken') {
      const fault = this.takeFault(call.api);
      if (fault !== undefined) return errcode(fault);
      if (call.query.corpid !== this.corpId) return errcode(40013, 'invalid corpid');
      const secret = call.query.corpsecret;
      if (!secret || !this.secrets.includes(secret)) return errcode(40001, 'invalid credential');
      const token = `tok${++this.tokenSeq}_${randomBytes(12).toString('hex')}`;
      this.validTokens.set(token, secret);
      this.issuedTokens.push(token);
      return { errcode: 0, errmsg: 'ok', access_token: token, expires_in: this.expiresIn };
    }
    const token = call.query.access_token;
    // docs/wecom-protocol.md §Error codes: the token must be in the URL (41001 otherwise); an unknown token is 40014.
    if (!token) return errcode(41001, 'access_token missing');
    const secret = this.validTokens.get(token);
    if (!secret) return errcode(40014, 'invalid access_token');
    call.tokenSecret = secret;
    const fault = this.takeFault(call.api);
    if (fault !== undefined) return errcode(fault);
    const handler = this.handlers.get(call.api);
    const result = handler ? await handler(call) : {};
    if (result instanceof StubHttpReply) return result;
    return { errcode: 0, errmsg: 'ok', ...(result as object) };
  }

  private takeFault(api: string): number | undefined {
    const fault = this.faults.find((f) => f.api === api && f.remaining > 0);
    if (!fault) return undefined;
    fault.remaining--;
    return fault.errcode;
  }
}

function errcode(code: number, errmsg = `stub fault ${code}`): { errcode: number; errmsg: string } {
  return { errcode: code, errmsg };
}

function send(res: http.ServerResponse, reply: unknown): void {
  if (res.destroyed) return;
  if (reply instanceof StubHttpReply) {
    res.writeHead(reply.status, { 'content-type': reply.contentType });
    res.end(reply.body);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(reply));
}

/** The most timestamps that fall in any half-open window [t, t + windowMs), t ranging over the timestamps. */
export function maxInWindow(timestamps: number[], windowMs: number): number {
  const sorted = [...timestamps].sort((a, b) => a - b);
  let max = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end] < sorted[start] + windowMs) end++;
    max = Math.max(max, end - start);
  }
  return max;
}
