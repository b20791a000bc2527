# Starts a throw-away PostgreSQL server for the tests, on 127.0.0.1 and a free
# port, in a temporary folder; source this file, call `pg_start`, and the
# server stops (and its folder goes) when the shell exits.
#
# The server speaks TLS with a certificate for `localhost` from a CA made
# here, and has a role `tlsonly` that may connect over TLS only, so the tests
# can check every `sslmode`.
#
# Exports SITEGPT_TEST_POSTGRES_URL (a superuser URL on the `postgres`
# database; tests create a database of their own each),
# SITEGPT_TEST_POSTGRES_CA (the CA certificate, PEM) and PG_BIN.

pg_bin() {
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

pg_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
    PG_BIN=$(pg_bin || true)
    if [ -z "${PG_BIN:-}" ]; then
        echo "installing postgresql" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        PG_BIN=$(pg_bin)
    fi
    export PG_BIN
    command -v openssl >/dev/null 2>&1 || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
    }
    PG_DIR=$(mktemp -d /tmp/sitegpt-pg.XXXXXX)
    PG_PORT=$(pg_free_port)
    pg_certificates "$PG_DIR"
    # PostgreSQL refuses to run as root: run it as the `postgres` user then.
    PG_AS=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_DIR"
        PG_AS=(runuser -u postgres --)
    fi
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    cat >"$PG_DIR/data/pg_hba.conf" <<HBA
local     all all                trust
hostnossl all tlsonly 127.0.0.1/32 reject
host      all all     127.0.0.1/32 trust
HBA
    cp "$PG_DIR/server.crt" "$PG_DIR/server.key" "$PG_DIR/data/"
    [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR/data/server.crt" "$PG_DIR/data/server.key"
    # Tests need no power-loss safety and run faster without it; the
    # benchmarks (PG_DURABLE=1) measure PostgreSQL as it is deployed, every
    # commit synced before it is acknowledged.
    local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PG_DURABLE:-}" = 1 ] && durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=400 $durability \
            -c ssl=on" >/dev/null \
        || { cat "$PG_DIR/server.log" >&2; return 1; }
    "${PG_AS[@]}" psql -h "$PG_DIR" -p "$PG_PORT" -U postgres -qc "CREATE ROLE tlsonly LOGIN SUPERUSER" postgres
    export SITEGPT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    export SITEGPT_TEST_POSTGRES_CA="$PG_DIR/ca.crt"
    trap pg_stop EXIT
    echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT" >&2
}

# A CA, and a server certificate it signed for `localhost` only.
pg_certificates() {
    local dir=$1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sitegpt test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
        >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/server.ext" -out "$dir/server.crt" >/dev/null 2>&1
    chmod 600 "$dir/server.key"
    chmod 644 "$dir/ca.crt"
}

pg_stop() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}
