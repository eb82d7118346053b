/**
 * Drive a stock Firefox over WebDriver BiDi (W3C), the protocol Firefox
 * ships enabled (`--remote-debugging-port`): no patched browser build and no
 * driver binary. Just what the Firefox test needs: start Firefox with a
 * throw-away profile, open a session, navigate, evaluate scripts, collect
 * console errors, take a screenshot, and stop everything it started.
 *
 * The profile sends every non-loopback request to a dead loopback proxy and
 * turns off the browser's own background services, so the browser talks to
 * nothing but the test's server.
 *
 * @module
 */

/** Where Firefox may be installed (Debian's `firefox-esr` first). */
export const FIREFOX_CANDIDATES: readonly string[] = [
  "/usr/bin/firefox-esr",
  "/usr/bin/firefox",
];

/**
 * The Firefox binary: `KRAKKED_FIREFOX`, or the first candidate that exists.
 *
 * @returns The path, or `undefined` when Firefox is not installed.
 */
export function findFirefox(): string | undefined {
  const configured = Deno.env.get("KRAKKED_FIREFOX");
  for (const path of configured ? [configured] : FIREFOX_CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not here: try the next one.
    }
  }
  return undefined;
}

/** Profile preferences: loopback only, no first-run or background traffic. */
const PREFS: Record<string, string | number | boolean> = {
  // Everything that is not loopback goes to a closed loopback port.
  "network.proxy.type": 1,
  "network.proxy.http": "127.0.0.1",
  "network.proxy.http_port": 9,
  "network.proxy.ssl": "127.0.0.1",
  "network.proxy.ssl_port": 9,
  "network.proxy.no_proxies_on": "127.0.0.1, localhost",
  "network.proxy.allow_hijacking_localhost": false,
  "network.dns.disablePrefetch": true,
  "network.prefetch-next": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "app.update.disabledForTesting": true,
  "app.normandy.enabled": false,
  "browser.shell.checkDefaultBrowser": false,
  "browser.startup.homepage_override.mstone": "ignore",
  "browser.newtabpage.enabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "browser.safebrowsing.downloads.enabled": false,
  "browser.safebrowsing.blockedURIs.enabled": false,
  "browser.search.update": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "datareporting.healthreport.uploadEnabled": false,
  "toolkit.telemetry.enabled": false,
  "toolkit.telemetry.unified": false,
  "services.settings.server": "http://127.0.0.1:9/v1",
  "extensions.update.enabled": false,
  "extensions.getAddons.cache.enabled": false,
  "messaging-system.rsexperimentloader.enabled": false,
  "remote.prefs.recommended": true,
};

/** A BiDi answer that carried an error. */
export class BidiError extends Error {
  override name = "BidiError";
  /**
   * @param kind The BiDi error code (`no such frame`, `timeout`, …).
   * @param message What failed.
   */
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

type Json = Record<string, unknown>;

/** A running Firefox with one BiDi session. */
export class FirefoxBidi implements AsyncDisposable {
  /** Firefox's version, as the session reports it. */
  version = "";
  /** The top-level browsing context. */
  context = "";
  /** Console entries at level `error`, and uncaught page errors. */
  readonly errors: string[] = [];
  #child: Deno.ChildProcess;
  #profile: string;
  #socket: WebSocket | undefined;
  #nextId = 1;
  #pending = new Map<
    number,
    { resolve: (value: Json) => void; reject: (error: Error) => void }
  >();
  #socketClosed: Promise<void> = Promise.resolve();
  #drained: Promise<void> = Promise.resolve();

  private constructor(child: Deno.ChildProcess, profile: string) {
    this.#child = child;
    this.#profile = profile;
  }

  /**
   * Start Firefox headless with a fresh profile and open a BiDi session.
   *
   * @param binary The Firefox binary.
   * @param options Window size.
   * @returns The session.
   * @throws {Error} When Firefox exits or never announces its BiDi address.
   */
  static async launch(
    binary: string,
    options: { width?: number; height?: number } = {},
  ): Promise<FirefoxBidi> {
    const profile = await Deno.makeTempDir({ prefix: "krakked-firefox-" });
    await Deno.writeTextFile(
      `${profile}/user.js`,
      Object.entries(PREFS).map(([k, v]) =>
        `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`
      ).join("\n") + "\n",
    );
    const child = new Deno.Command(binary, {
      args: [
        "--headless",
        "--no-remote",
        "--profile",
        profile,
        "--remote-debugging-port=0",
        `--window-size=${options.width ?? 1280},${options.height ?? 900}`,
        "about:blank",
      ],
      env: {
        MOZ_CRASHREPORTER_DISABLE: "1",
        MOZ_DISABLE_AUTO_SAFE_MODE: "1",
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const firefox = new FirefoxBidi(child, profile);
    try {
      const url = await firefox.#bidiUrl();
      await firefox.#connect(`${url}/session`);
      const session = await firefox.send("session.new", { capabilities: {} });
      const capabilities = session.capabilities as Json | undefined;
      firefox.version = `${capabilities?.browserName ?? "firefox"} ${
        capabilities?.browserVersion ?? "?"
      }`;
      const tree = await firefox.send("browsingContext.getTree", {});
      const contexts = tree.contexts as { context: string }[];
      firefox.context = contexts[0]!.context;
      await firefox.send("session.subscribe", {
        events: ["log.entryAdded"],
      });
    } catch (error) {
      await firefox.close();
      throw error;
    }
    return firefox;
  }

  /** Read stderr until Firefox prints its BiDi WebSocket address. */
  async #bidiUrl(): Promise<string> {
    const reader = this.#child.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    const timer = setTimeout(() => reader.cancel(), 30_000);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          throw new Error(
            `Firefox did not announce WebDriver BiDi: ${text.slice(-500)}`,
          );
        }
        text += value;
        const match = /WebDriver BiDi listening on (ws:\/\/[^\s]+)/.exec(text);
        if (match) {
          // Keep draining stderr so Firefox never blocks on a full pipe.
          this.#drained = (async () => {
            try {
              while (!(await reader.read()).done) { /* drain */ }
            } catch {
              // Closed with the process.
            }
          })();
          return match[1]!;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #connect(url: string): Promise<void> {
    const socket = new WebSocket(url);
    this.#socket = socket;
    this.#socketClosed = new Promise((resolve) => {
      socket.addEventListener("close", () => {
        for (const { reject } of this.#pending.values()) {
          reject(new Error("The BiDi connection closed"));
        }
        this.#pending.clear();
        resolve();
      });
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener(
        "error",
        () => reject(new Error(`Cannot connect to ${url}`)),
        { once: true },
      );
    });
  }

  #receive(data: unknown): void {
    const message = JSON.parse(String(data)) as Json;
    if (typeof message.id === "number") {
      const waiter = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.type === "error") {
        waiter?.reject(
          new BidiError(String(message.error), String(message.message)),
        );
      } else waiter?.resolve(message.result as Json);
      return;
    }
    if (message.method === "log.entryAdded") {
      const entry = message.params as Json;
      if (entry.level === "error") this.errors.push(String(entry.text));
    }
  }

  /**
   * Send one command.
   *
   * @param method BiDi method (`browsingContext.navigate`).
   * @param params Its parameters.
   * @returns The result.
   * @throws {BidiError} When Firefox answers with an error.
   */
  send(method: string, params: Json): Promise<Json> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket!.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Navigate and wait for the load event.
   *
   * @param url The page.
   */
  async navigate(url: string): Promise<void> {
    await this.send("browsingContext.navigate", {
      context: this.context,
      url,
      wait: "complete",
    });
  }

  /**
   * Evaluate an expression in the page (promises are awaited) and return
   * its JSON-serialisable value.
   *
   * @param expression JavaScript; wrap it so it returns JSON text for
   *   structured values.
   * @returns The primitive result.
   * @throws {Error} When the script throws.
   */
  async evaluate(expression: string): Promise<unknown> {
    const answer = await this.send("script.evaluate", {
      expression,
      target: { context: this.context },
      awaitPromise: true,
    });
    if (answer.type === "exception") {
      const details = answer.exceptionDetails as Json | undefined;
      throw new Error(`Script failed in Firefox: ${details?.text ?? "?"}`);
    }
    return (answer.result as Json | undefined)?.value;
  }

  /**
   * Evaluate `condition` until it is true.
   *
   * @param condition A JavaScript expression.
   * @param what What is waited for (in the error).
   * @param timeoutMs Give up after this long.
   * @throws {Error} On timeout.
   */
  async waitFor(
    condition: string,
    what: string,
    timeoutMs = 30_000,
  ): Promise<void> {
    // The wait runs inside the page (one round trip, no polling from here).
    const ok = await this.evaluate(`new Promise((resolve) => {
      const deadline = performance.now() + ${timeoutMs};
      const check = () => {
        let value = false;
        try { value = Boolean(${condition}); } catch { value = false; }
        if (value) resolve(true);
        else if (performance.now() > deadline) resolve(false);
        else requestAnimationFrame(check);
      };
      check();
    })`);
    if (ok !== true) {
      throw new Error(`Timed out in Firefox waiting for ${what}`);
    }
  }

  /**
   * Take a PNG screenshot of the viewport.
   *
   * @returns The PNG bytes.
   */
  async screenshot(): Promise<Uint8Array> {
    const answer = await this.send("browsingContext.captureScreenshot", {
      context: this.context,
    });
    const binary = atob(String(answer.data));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }

  /** End the session, stop Firefox and remove its profile. */
  async close(): Promise<void> {
    try {
      if (this.#socket?.readyState === WebSocket.OPEN) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.send("browser.close", {}).catch(() => ({})),
          new Promise((resolve) => timer = setTimeout(resolve, 5_000)),
        ]);
        clearTimeout(timer);
      }
    } finally {
      this.#socket?.close();
      await this.#socketClosed;
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await this.#child.status;
      await this.#drained;
      await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
