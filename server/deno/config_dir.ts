/**
 * Where Krakked keeps its configuration and secrets on each OS.
 *
 * @module
 */

import { join, posix, win32 } from "node:path";

/** The operating systems Krakked resolves paths for. */
export type OsName = "linux" | "darwin" | "windows" | string;

/** The directory name under the platform's config root. */
export const APP_DIR = "kraken_bot";

/**
 * The config directory as a pure function of OS and environment:
 * `KRAKKED_CONFIG_DIR` if set; Linux (and other POSIX) `$XDG_CONFIG_HOME/kraken_bot`
 * or `~/.config/kraken_bot`; macOS `~/Library/Application Support/kraken_bot`;
 * Windows `%APPDATA%\kraken_bot`.
 *
 * @param os `Deno.build.os`.
 * @param env Environment lookup.
 * @returns The absolute directory path.
 * @throws {Error} When no home directory can be determined.
 * @example Linux with XDG
 * ```ts
 * import { configDir } from "./config_dir.ts";
 * configDir("linux", (k) => ({ XDG_CONFIG_HOME: "/x" })[k]); // "/x/kraken_bot"
 * ```
 */
export function configDir(
  os: OsName,
  env: (name: string) => string | undefined,
): string {
  const override = env("KRAKKED_CONFIG_DIR")?.trim();
  if (override) return override;
  if (os === "windows") {
    const appData = env("APPDATA") ??
      (env("USERPROFILE")
        ? win32.join(env("USERPROFILE")!, "AppData", "Roaming")
        : undefined);
    if (!appData) {
      throw new Error("Cannot find the config directory: APPDATA is not set");
    }
    return win32.join(appData, APP_DIR);
  }
  const home = env("HOME");
  if (os === "darwin") {
    if (!home) {
      throw new Error("Cannot find the config directory: HOME is not set");
    }
    return posix.join(home, "Library", "Application Support", APP_DIR);
  }
  const xdg = env("XDG_CONFIG_HOME")?.trim();
  if (xdg && xdg.startsWith("/")) return posix.join(xdg, APP_DIR);
  if (!home) {
    throw new Error("Cannot find the config directory: HOME is not set");
  }
  return posix.join(home, ".config", APP_DIR);
}

/** The files inside the config directory. */
export interface ConfigPaths {
  dir: string;
  config: string;
  secrets: string;
}

/**
 * Paths of `config.yaml` and `secrets.enc` in a config directory.
 *
 * @param dir The config directory.
 * @returns The file paths.
 * @example Paths
 * ```ts
 * import { configPaths } from "./config_dir.ts";
 * configPaths("/home/me/.config/kraken_bot").secrets;
 * ```
 */
export function configPaths(dir: string): ConfigPaths {
  return {
    dir,
    config: join(dir, "config.yaml"),
    secrets: join(dir, "secrets.enc"),
  };
}

/**
 * Expand a leading `~` to the home directory.
 *
 * @param path A path that may start with `~`.
 * @param home The home directory.
 * @returns The expanded path.
 * @example Expand
 * ```ts
 * import { expandHome } from "./config_dir.ts";
 * expandHome("~/data", "/home/me"); // "/home/me/data"
 * ```
 */
export function expandHome(path: string, home: string | undefined): string {
  if (path === "~" && home) return home;
  if ((path.startsWith("~/") || path.startsWith("~\\")) && home) {
    return join(home, path.slice(2));
  }
  return path;
}
