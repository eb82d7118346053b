#!/usr/bin/env python3
"""Derives the golden book vectors used by tests/core/ws/book_test.ts.

Independent of the TypeScript code: Python's zlib.crc32 and decimal.Decimal,
following the Kraken v2 checksum text algorithm literally (top 10 asks
ascending, then top 10 bids descending; price then qty; remove '.', strip
leading zeros; CRC-32 of the ASCII string).

Run from this folder: python3 gen_book_vectors.py, then deno fmt the two JSON files.
Writes book_vectors.json and book_scenario.json (deterministic, seed below).
"""
import json
import random
import zlib
from decimal import Decimal


def field(text):
    return text.replace(".", "").lstrip("0")


def checksum_string(asks, bids):
    return "".join(field(p) + field(q) for p, q in asks[:10] + bids[:10])


def checksum(asks, bids):
    return zlib.crc32(checksum_string(asks, bids).encode("ascii")) & 0xFFFFFFFF


OFFICIAL_ASKS = [
    ["45285.2", "0.00100000"], ["45286.4", "1.54571953"], ["45286.6", "1.54571109"],
    ["45289.6", "1.54560911"], ["45290.2", "0.15890660"], ["45291.8", "1.54553491"],
    ["45294.7", "0.04454749"], ["45296.1", "0.35380000"], ["45297.5", "0.09945542"],
    ["45299.5", "0.18772827"],
]
OFFICIAL_BIDS = [
    ["45283.5", "0.10000000"], ["45283.4", "1.54582015"], ["45282.1", "0.10000000"],
    ["45281.0", "0.10000000"], ["45280.3", "1.54592586"], ["45279.0", "0.07990000"],
    ["45277.6", "0.03310103"], ["45277.5", "0.30000000"], ["45277.3", "1.54602737"],
    ["45276.6", "0.15445238"],
]


def floaty(text):
    # What float -> string gives (the classic bug): 45281.0 -> "45281", 0.10000000 -> "0.1".
    r = repr(float(text))
    return r[:-2] if r.endswith(".0") else r


def vectors():
    out = []

    def add(name, asks, bids, note):
        out.append({
            "name": name,
            "note": note,
            "asks": asks,
            "bids": bids,
            "checksumString": checksum_string(asks, bids),
            "checksum": checksum(asks, bids),
        })

    add("official example", OFFICIAL_ASKS, OFFICIAL_BIDS,
        "Kraken docs, Book checksum (WebSocket v2); expected 3310070434")
    add("official example through float to string (wrong on purpose)",
        [[floaty(p), floaty(q)] for p, q in OFFICIAL_ASKS],
        [[floaty(p), floaty(q)] for p, q in OFFICIAL_BIDS],
        "45281.0 -> 45281 and 0.10000000 -> 0.1 lose digits; must differ from the official value")
    add("official example with only quantities through float (wrong on purpose)",
        [[p, floaty(q)] for p, q in OFFICIAL_ASKS],
        [[p, floaty(q)] for p, q in OFFICIAL_BIDS],
        "0.10000000 -> 0.1; this is the 1604409348 quoted as the float-naive value in WS_V2.md 5.3")
    add("asks only", OFFICIAL_ASKS[:3], [], "bids side empty")
    add("bids only", [], OFFICIAL_BIDS[:3], "asks side empty")
    add("empty book", [], [], "CRC-32 of the empty string")
    add("sub-one prices (DOGE-like, 7 decimals)",
        [["0.3812345", "52000.00000000"], ["0.3812400", "0.00000001"]],
        [["0.3812300", "1098.39475580"], ["0.0000001", "10.00000000"]],
        "leading zeros of prices and quantities are stripped, trailing kept")
    add("quantity above 2^53 digits (SHIB-like)",
        [["0.00001234", "123456789012.12345678"]],
        [["0.00001233", "9007199254740993.00000000"]],
        "mantissas of 20 and 24 digits: exact only without floats")
    add("more than 10 levels per side",
        [[str(Decimal("100.0") + Decimal(i) / 10), "1.00000000"] for i in range(12)],
        [[str(Decimal("99.0") - Decimal(i) / 10), "2.00000000"] for i in range(12)],
        "only the top 10 of each side count")
    return out


def fmt(value, decimals):
    return f"{value:.{decimals}f}"


def scenario(seed=20261121, messages=400):
    """A depth-25 stream for two symbols, with its own reference book."""
    rng = random.Random(seed)
    pairs = {
        "DOGE/USD": {"pd": 7, "qd": 8, "mid": Decimal("0.3812345"), "tick": Decimal("0.0000001")},
        "SHIB/USD": {"pd": 8, "qd": 1, "mid": Decimal("0.00001234"), "tick": Decimal("0.00000001")},
    }
    depth = 25
    books = {s: {"bids": {}, "asks": {}} for s in pairs}
    frames = []

    def qty(pair):
        r = rng.random()
        if r < 0.2:
            return Decimal(rng.choice([1, 10, 100, 1500]))
        if r < 0.3:
            return Decimal(rng.randint(1, 999)) / Decimal(10) ** pair["qd"]
        if r < 0.4:
            return Decimal(rng.randint(10**15, 10**18)) / Decimal(10) ** pair["qd"]
        return Decimal(rng.randint(1, 10**12)) / Decimal(10) ** pair["qd"]

    def top(book, side, pair):
        keys = sorted(book[side], reverse=(side == "bids"))
        return [[fmt(k, pair["pd"]), fmt(book[side][k], pair["qd"])] for k in keys[:depth]]

    def truncate(book, side):
        keys = sorted(book[side], reverse=(side == "bids"))
        for k in keys[depth:]:
            del book[side][k]

    def level_json(p, q, pair, shuffle):
        price = fmt(p, pair["pd"])
        amount = fmt(q, pair["qd"]) if q != 0 else rng.choice(["0", fmt(q, pair["qd"])])
        if shuffle:
            return '{ "qty" : %s , "price" : %s }' % (amount, price)
        return '{"price":%s,"qty":%s}' % (price, amount)

    def frame(kind, symbol, bids, asks, cks, shuffle):
        pair = pairs[symbol]
        b = ",".join(level_json(p, q, pair, shuffle) for p, q in bids)
        a = ",".join(level_json(p, q, pair, shuffle) for p, q in asks)
        if shuffle:
            return ('{ "data" : [ { "checksum" : %d , "asks" : [ %s ] , "bids" : [ %s ] , '
                    '"symbol" : "%s" , "extra" : {"nested":[1,2,{"x":"]"}]} } ] , '
                    '"type" : "%s" , "channel" : "book" }') % (cks, a, b, symbol, kind)
        return ('{"channel":"book","type":"%s","data":[{"symbol":"%s","bids":[%s],"asks":[%s],'
                '"checksum":%d,"timestamp":"2026-11-21T00:00:00.000000Z"}]}') % (kind, symbol, b, a, cks)

    for symbol, pair in pairs.items():
        book = books[symbol]
        for i in range(1, 31):
            book["bids"][pair["mid"] - pair["tick"] * i * 2] = qty(pair)
            book["asks"][pair["mid"] + pair["tick"] * i * 2] = qty(pair)
        truncate(book, "bids")
        truncate(book, "asks")
        asks, bids = top(book, "asks", pair), top(book, "bids", pair)
        snap_bids = [(Decimal(p), Decimal(q)) for p, q in bids]
        snap_asks = [(Decimal(p), Decimal(q)) for p, q in asks]
        frames.append(frame("snapshot", symbol, snap_bids, snap_asks, checksum(asks, bids), False))

    for _ in range(messages):
        symbol = rng.choice(list(pairs))
        pair = pairs[symbol]
        book = books[symbol]
        changes = {"bids": [], "asks": []}
        for _ in range(rng.randint(1, 6)):
            side = rng.choice(["bids", "asks"])
            keys = sorted(book[side], reverse=(side == "bids"))
            r = rng.random()
            if r < 0.3 and keys:
                k = rng.choice(keys)
                q = qty(pair)
            elif r < 0.45 and keys:
                k = rng.choice(keys)
                q = Decimal(0)
            elif r < 0.5:
                # delete of a level the subscriber never had: a no-op
                k = keys[-1] - pair["tick"] * 3 if side == "bids" else keys[-1] + pair["tick"] * 3
                q = Decimal(0)
            else:
                best_other = min(book["asks"]) if side == "bids" else max(book["bids"])
                offset = pair["tick"] * rng.randint(1, 60)
                k = best_other - offset if side == "bids" else best_other + offset
                q = qty(pair)
            if q == 0:
                book[side].pop(k, None)
            else:
                book[side][k] = q
            changes[side].append((k, q))
            if rng.random() < 0.1:
                # same price twice in one message: the last one wins
                q2 = qty(pair)
                book[side][k] = q2
                changes[side].append((k, q2))
        truncate(book, "bids")
        truncate(book, "asks")
        cks = checksum(top(book, "asks", pair), top(book, "bids", pair))
        frames.append(frame("update", symbol, changes["bids"], changes["asks"], cks, rng.random() < 0.2))

    final = {}
    for symbol, pair in pairs.items():
        final[symbol] = {"bids": top(books[symbol], "bids", pair), "asks": top(books[symbol], "asks", pair)}
    return {
        "about": "Depth-25 stream derived by gen_book_vectors.py (independent Python reference book); "
                 "20% of updates use shuffled keys, spaces and an unknown nested key; deletes use 0 or full-precision zeros.",
        "depth": depth,
        "pairs": {s: {"priceDecimals": p["pd"], "qtyDecimals": p["qd"]} for s, p in pairs.items()},
        "frames": frames,
        "final": final,
    }


if __name__ == "__main__":
    with open("book_vectors.json", "w") as f:
        json.dump({
            "about": "Derived by gen_book_vectors.py with Python zlib.crc32 over the documented text algorithm.",
            "vectors": vectors(),
        }, f, indent=1)
        f.write("\n")
    with open("book_scenario.json", "w") as f:
        json.dump(scenario(), f, indent=1)
        f.write("\n")
