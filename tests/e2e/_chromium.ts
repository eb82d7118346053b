/**
 * Shared set-up of the Chromium browser tests: where Chromium is, how to
 * launch it headless, and how to load playwright-core under Deno.
 *
 * @module
 */

/** `KRAKKED_SKIP_E2E=1` skips every browser test. */
export const SKIP = Deno.env.get("KRAKKED_SKIP_E2E") === "1";
/** The Chromium binary (Debian's by default). */
export const CHROMIUM = Deno.env.get("KRAKKED_CHROMIUM") ?? "/usr/bin/chromium";
/** Screenshots and measured figures go here. */
export const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url);

/** Headless Chromium flags: no sandbox (containers), no background traffic. */
export const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/**
 * Load playwright-core. Its bundled `is-wsl` probes
 * `/proc/sys/fs/binfmt_misc/WSLInterop` when the module loads, and Deno 2.9
 * refuses any `/proc/sys` read without `--allow-all`. The probe only feeds
 * the `open` helper (opening URLs in a desktop browser), which launching
 * Chromium never uses; its own test switch makes the probe lazy.
 *
 * @returns playwright's Chromium launcher.
 */
export async function loadChromium(): Promise<
  typeof import("playwright-core").chromium
> {
  Deno.env.set("__IS_WSL_TEST__", "1");
  const { chromium } = await import("playwright-core");
  return chromium;
}

/**
 * Fail with instructions when Chromium is missing.
 *
 * @throws {Error} When {@linkcode CHROMIUM} does not exist.
 */
export async function requireChromium(): Promise<void> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: install it (apt-get install -y chromium), ` +
        `point KRAKKED_CHROMIUM at it, or set KRAKKED_SKIP_E2E=1 to skip the browser tests`,
    );
  }
}
