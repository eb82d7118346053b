import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../../core/config/config.ts";
import { UnknownTimeframeError } from "../../../core/market/ohlc.ts";
import { UnknownPairError } from "../../../core/market/pairs.ts";
import {
  KrakenError,
  type KrakenErrorKind,
} from "../../../core/rest/errors.ts";
import { NoOhlcDataError } from "../../../core/market/ohlc_history.ts";
import { InputFileError } from "../../../server/deno/files.ts";
import {
  CATEGORY_EXIT,
  CredentialsError,
  describeError,
  errorJson,
  errorLine,
  EXIT,
  exitCodeForError,
  exitCodeForKind,
  UsageError,
} from "../../../server/cli/errors.ts";
import { CliHarness, leakedSecrets } from "./_harness.ts";

Deno.test("EXIT is the documented exit code table", () => {
  assert.deepEqual(EXIT, {
    ok: 0,
    error: 1,
    usage: 2,
    auth: 3,
    network: 4,
    restart: 75,
  });
});

Deno.test("exitCodeForKind() maps every KrakenError kind", () => {
  const table: Record<KrakenErrorKind, number> = {
    auth: 3,
    permission: 3,
    nonce: 3,
    network: 4,
    service: 4,
    "rate_limit": 4,
    "invalid_request": 1,
    order: 1,
    unknown: 1,
  };
  for (const [kind, code] of Object.entries(table)) {
    assert.equal(exitCodeForKind(kind as KrakenErrorKind), code, kind);
  }
});

Deno.test("exitCodeForError() maps what commands throw", async (t) => {
  await t.step("Kraken errors by kind", () => {
    assert.equal(
      exitCodeForError(new KrakenError("x", { codes: ["EAPI:Invalid key"] })),
      3,
    );
    assert.equal(
      exitCodeForError(
        new KrakenError("x", { codes: ["Krakked:Fetch failed"] }),
      ),
      4,
    );
    assert.equal(
      exitCodeForError(
        new KrakenError("x", { codes: ["EService:Unavailable"] }),
      ),
      4,
    );
    assert.equal(
      exitCodeForError(
        new KrakenError("x", { codes: ["EGeneral:Invalid arguments"] }),
      ),
      1,
    );
  });
  await t.step("bad command lines", () => {
    assert.equal(exitCodeForError(new UsageError("x")), 2);
    assert.equal(exitCodeForError(new UnknownPairError("NOPE")), 2);
    assert.equal(exitCodeForError(new UnknownTimeframeError("2h")), 2);
  });
  await t.step("credentials and the rest", () => {
    assert.equal(exitCodeForError(new CredentialsError("none")), 3);
    assert.equal(exitCodeForError(new Error("boom")), 1);
    assert.equal(exitCodeForError("boom"), 1);
  });
});

Deno.test("errorLine() gives one line with the kind and a hint", () => {
  const auth = new KrakenError("Kraken Balance call failed: EAPI:Invalid key", {
    codes: ["EAPI:Invalid key"],
  });
  assert.equal(
    errorLine(auth),
    "Kraken Balance call failed: EAPI:Invalid key (auth); run 'krakked doctor' to check the key",
  );
  const network = new KrakenError("Kraken Time call failed", {
    codes: ["Krakked:Fetch failed"],
  });
  assert.equal(
    errorLine(network),
    "Kraken Time call failed (network); check the network or connection.rest_url",
  );
  const order = new KrakenError("Kraken AddOrder call failed", {
    codes: ["EOrder:Insufficient funds"],
  });
  assert.equal(errorLine(order), "Kraken AddOrder call failed (order)");
  assert.equal(errorLine(new Error("two\n  lines")), "two lines");
  assert.equal(errorLine(42), "42");
  let configError: unknown;
  try {
    parseConfig("connection:\n  rest_url: 5\n");
  } catch (error) {
    configError = error;
  }
  assert.ok(configError instanceof ConfigError);
  assert.ok(!errorLine(configError).includes("\n"));
});

Deno.test("a secret echoed in an upstream error never reaches stdout or stderr", async (t) => {
  // A key with a quote: JSON would print it as \", which a scrub after
  // encoding would miss.
  const key = 'key-"quoted"-4f1e';
  const secret = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1wcmludA==";
  // An upstream that echoes the request's credentials in its error.
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) =>
      Response.json({
        error: [
          `EGeneral:Internal error: key=${
            request.headers.get("API-Key")
          } secret=${secret}`,
        ],
      }),
  );
  await using h = await CliHarness.start({
    restUrl: `http://127.0.0.1:${server.addr.port}`,
  });
  const env = { KRAKEN_API_KEY: key, KRAKEN_API_SECRET: secret };
  const forms = [key, secret, JSON.stringify(key).slice(1, -1)];
  await t.step("text", async () => {
    const run = await h.run(["balance"], { env });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /^krakked balance: .*\[redacted\]/);
    assert.deepEqual(leakedSecrets([run.stdout, run.stderr], forms), []);
  });
  await t.step("--json", async () => {
    const run = await h.run(["balance", "--json"], { env });
    assert.equal(run.code, 4);
    const { error } = JSON.parse(run.stdout);
    assert.equal(error.category, "service");
    assert.match(error.message, /key=\[redacted\] secret=\[redacted\]/);
    assert.deepEqual(leakedSecrets([run.stdout, run.stderr], forms), []);
  });
});

Deno.test("describeError() gives every failure a stable category and the exit code", () => {
  const cases: Array<[unknown, string, number]> = [
    [new UsageError("x"), "usage", 2],
    [new UnknownPairError("NOPE"), "usage", 2],
    [new CredentialsError("No credentials"), "credentials", 3],
    [new KrakenError("x", { codes: ["EAPI:Invalid key"] }), "auth", 3],
    [
      new KrakenError("x", { codes: ["EGeneral:Permission denied"] }),
      "permission",
      3,
    ],
    [new KrakenError("x", { codes: ["EAPI:Invalid nonce"] }), "nonce", 3],
    [
      new KrakenError("x", { codes: ["EAPI:Rate limit exceeded"] }),
      "rate_limit",
      4,
    ],
    [new KrakenError("x", { codes: ["Krakked:Fetch failed"] }), "network", 4],
    [new KrakenError("x", { codes: ["EService:Unavailable"] }), "service", 4],
    [
      new KrakenError("x", { codes: ["EOrder:Insufficient funds"] }),
      "order_rejected",
      1,
    ],
    [new NoOhlcDataError("XBTUSD", "1h"), "no_data", 1],
    [new Error("boom"), "unexpected", 1],
  ];
  for (const [error, category, code] of cases) {
    const described = describeError(error, "balance");
    assert.equal(described.category, category, String(error));
    assert.equal(described.exitCode, code, String(error));
    assert.equal(CATEGORY_EXIT[described.category], code);
  }
  let configError: unknown;
  try {
    parseConfig("connection:\n  rest_url: 5\n");
  } catch (error) {
    configError = error;
  }
  assert.equal(describeError(configError).category, "config");
  assert.deepEqual(
    errorJson(describeError(new UsageError("Missing <pair>"), "ticker")),
    {
      error: {
        category: "usage",
        message: "Missing <pair>",
        suggestion: "Run 'krakked ticker --help' for the arguments",
      },
    },
  );
  assert.deepEqual(errorJson(describeError(new Error("a\n  b"))), {
    error: { category: "unexpected", message: "a b" },
  });
});

Deno.test("a refused input file is a config failure naming the file", () => {
  const failure = describeError(
    new InputFileError(
      "not_regular",
      "/home/me/.config/kraken_bot/config.yaml",
      'Cannot read "/home/me/.config/kraken_bot/config.yaml": not a regular file',
    ),
  );
  assert.equal(failure.category, "config");
  assert.equal(failure.exitCode, 1);
  assert.match(failure.suggestion ?? "", /config\.yaml/);
});
