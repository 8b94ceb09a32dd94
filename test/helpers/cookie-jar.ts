/** Cookies as a browser keeps them, path scoping aside (the tests' requests all go to /sidebar/…). */
export class CookieJar {
  readonly values = new Map<string, string>();
  /** The raw Set-Cookie lines of the last response, by cookie name. */
  readonly lastSet = new Map<string, string>();

  take(res: Response): void {
    this.lastSet.clear();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      this.lastSet.set(name, line);
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) this.values.delete(name);
      else this.values.set(name, value);
    }
  }

  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}
