"""Fills a sitegpt database with tokens of one existing user, for benchmarks.

    python3 bench/seed.py DATABASE_URL --random N [--known K --plaintexts FILE]

DATABASE_URL is `sqlite:///path/to/sitegpt.db` or a `postgres://` URL (loaded
with psql). `--random` adds N tokens whose secrets nobody knows (random
hashes); `--known` adds K real tokens and writes their plaintexts to FILE, one
per line, for load tests that must present many distinct valid tokens. The
rows copy the account, user, scopes and expiry of the newest existing token.
"""

import argparse
import hashlib
import os
import sqlite3
import subprocess
import sys
import zlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
COLUMNS = ("id, account_id, user_id, name, secret_hash, hint, scopes, chatbot_ids, created_via, "
           "created_at, secret_issued_at, expires_at")


def base62(number, width):
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def plaintext():
    """A token in sitegpt's format: sgpt_ + 43 base62 + 6 base62 of CRC32."""
    random = base62(int.from_bytes(os.urandom(32), "big"), 43)
    return "sgpt_" + random + base62(zlib.crc32(random.encode()), 6)


def rows(template, random_count, known):
    account_id, user_id, scopes, created_at, expires_at = template
    for i in range(random_count):
        yield (f"tok_seed{i}", account_id, user_id, f"seed {i}", os.urandom(32), "xxxx", scopes, "",
               "admin", created_at, created_at, expires_at)
    for i, token in enumerate(known):
        yield (f"tok_known{i}", account_id, user_id, f"known {i}", hashlib.sha256(token.encode()).digest(),
               token[-4:], scopes, "", "admin", created_at, created_at, expires_at)


TEMPLATE = ("SELECT account_id, user_id, scopes, created_at, expires_at FROM api_tokens "
            "ORDER BY created_at DESC LIMIT 1")


def seed_sqlite(path, random_count, known):
    db = sqlite3.connect(path)
    template = db.execute(TEMPLATE).fetchone()
    db.executemany(f"INSERT INTO api_tokens ({COLUMNS}) VALUES ({', '.join('?' * 12)})",
                   rows(template, random_count, known))
    db.commit()
    return db.execute("SELECT count(*) FROM api_tokens").fetchone()[0]


def psql(url, *args, **kwargs):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qtA", *args], check=True,
                          text=True, capture_output=True, **kwargs).stdout


def seed_postgres(url, random_count, known):
    template = psql(url, "-F", "\t", "-c", TEMPLATE).strip().split("\t")
    template = (template[0], template[1], template[2], int(template[3]), int(template[4]))

    def lines():
        for row in rows(template, random_count, known):
            cells = [f"\\x{cell.hex()}" if isinstance(cell, bytes) else str(cell) for cell in row]
            yield ",".join(f'"{c}"' for c in cells) + "\n"

    copy = subprocess.Popen(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c",
                             f"\\copy api_tokens ({COLUMNS}) FROM STDIN WITH (FORMAT csv)"],
                            stdin=subprocess.PIPE, text=True)
    for line in lines():
        copy.stdin.write(line)
    copy.stdin.close()
    if copy.wait() != 0:
        sys.exit("psql \\copy failed")
    psql(url, "-c", "ANALYZE api_tokens")
    return int(psql(url, "-c", "SELECT count(*) FROM api_tokens").strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("--random", type=int, default=0)
    parser.add_argument("--known", type=int, default=0)
    parser.add_argument("--plaintexts")
    args = parser.parse_args()
    known = [plaintext() for _ in range(args.known)]
    if known:
        with open(args.plaintexts, "w") as out:
            out.write("\n".join(known) + "\n")
    if args.database_url.startswith("sqlite://"):
        total = seed_sqlite(args.database_url[len("sqlite://"):], args.random, known)
    else:
        total = seed_postgres(args.database_url, args.random, known)
    print(total)


if __name__ == "__main__":
    main()
