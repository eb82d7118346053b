import assert from "node:assert/strict";
import {
  configDir,
  configPaths,
  expandHome,
} from "../../../server/deno/config_dir.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("configDir() follows each platform's convention", async (t) => {
  await t.step("Linux with XDG_CONFIG_HOME", () => {
    assert.equal(
      configDir("linux", env({ HOME: "/home/a", XDG_CONFIG_HOME: "/xdg" })),
      "/xdg/kraken_bot",
    );
  });
  await t.step("Linux without XDG_CONFIG_HOME", () => {
    assert.equal(
      configDir("linux", env({ HOME: "/home/a" })),
      "/home/a/.config/kraken_bot",
    );
  });
  await t.step(
    "Linux ignores a relative XDG_CONFIG_HOME (per the XDG spec)",
    () => {
      assert.equal(
        configDir("linux", env({ HOME: "/home/a", XDG_CONFIG_HOME: "rel" })),
        "/home/a/.config/kraken_bot",
      );
    },
  );
  await t.step("macOS", () => {
    assert.equal(
      configDir("darwin", env({ HOME: "/Users/a", XDG_CONFIG_HOME: "/xdg" })),
      "/Users/a/Library/Application Support/kraken_bot",
    );
  });
  await t.step("Windows", () => {
    assert.equal(
      configDir("windows", env({ APPDATA: "C:\\Users\\a\\AppData\\Roaming" })),
      "C:\\Users\\a\\AppData\\Roaming\\kraken_bot",
    );
    assert.equal(
      configDir("windows", env({ USERPROFILE: "C:\\Users\\b" })),
      "C:\\Users\\b\\AppData\\Roaming\\kraken_bot",
    );
  });
  await t.step("KRAKKED_CONFIG_DIR overrides every platform", () => {
    for (const os of ["linux", "darwin", "windows"]) {
      assert.equal(
        configDir(
          os,
          env({ KRAKKED_CONFIG_DIR: "/custom", HOME: "/h", APPDATA: "C:\\x" }),
        ),
        "/custom",
      );
    }
  });
  await t.step("no home is a clear error", () => {
    assert.throws(() => configDir("linux", env({})), /HOME is not set/);
    assert.throws(() => configDir("darwin", env({})), /HOME is not set/);
    assert.throws(() => configDir("windows", env({})), /APPDATA is not set/);
  });
});

Deno.test("configPaths() and expandHome() build the file paths", () => {
  assert.deepEqual(configPaths("/c"), {
    dir: "/c",
    config: "/c/config.yaml",
    secrets: "/c/secrets.enc",
  });
  assert.equal(expandHome("~/ohlc", "/home/a"), "/home/a/ohlc");
  assert.equal(expandHome("~", "/home/a"), "/home/a");
  assert.equal(expandHome("/abs", "/home/a"), "/abs");
  assert.equal(expandHome("~/x", undefined), "~/x");
});
