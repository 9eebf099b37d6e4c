#!/usr/bin/env bash
# Makes sure the servers the test suite talks to are up: PostgreSQL, MariaDB, Redis and Memcached on 127.0.0.1, and that
# Debian's chromium (the browser tests' browser) is installed.
# Starts each one that is down (commands from shared/TOOLCHAIN.md) and fails, with what to do, if it cannot.
# No backend is ever skipped: a suite whose server (or browser) is missing fails.
set -uo pipefail

wait_for() { # name, check command...
  local name=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "ensure-services: $name did not come up within 30 s" >&2
  return 1
}

fail() { echo "ensure-services: $*" >&2; exit 1; }

# PostgreSQL (trust auth, database "test")
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "ensure-services: starting PostgreSQL"
  command -v pg_ctlcluster >/dev/null || fail "PostgreSQL is down and pg_ctlcluster is missing: install postgresql or start a server on 127.0.0.1:5432"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432 || fail "start PostgreSQL on 127.0.0.1:5432 (trust auth, database test)"
fi

# Redis (nothing persisted)
if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  echo "ensure-services: starting Redis"
  command -v redis-server >/dev/null || fail "Redis is down and redis-server is missing: apt-get install -y redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for Redis sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG' || fail "start Redis on 127.0.0.1:6379"
fi

# The Redis Cluster and Sentinel suites start their own redis-server processes (7100-7105, 7200-7204) and build the
# cluster with redis-cli: both binaries must be on PATH, and those ports free.
command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
  || fail "redis-server and redis-cli are needed on PATH for the Redis Cluster and Sentinel tests: apt-get install -y redis-server"

# MariaDB (root, empty password, database "test")
if ! mysqladmin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then
  echo "ensure-services: starting MariaDB"
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || fail "MariaDB is down and mariadbd is missing: apt-get install -y mariadb-server"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_for MariaDB mysqladmin -h 127.0.0.1 -P 3306 -uroot ping || fail "start MariaDB on 127.0.0.1:3306 (root, empty password)"
fi

# Memcached (the Memcached session store's suites; nothing persisted). Not pre-started on these machines:
# installed from Debian's package when missing, then started on 127.0.0.1:11211.
if ! (exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null; then
  if ! command -v memcached >/dev/null && [ ! -x /usr/bin/memcached ]; then
    echo "ensure-services: installing memcached (apt-get install -y memcached)"
    command -v apt-get >/dev/null || fail "Memcached is missing and there is no apt-get: install memcached, or start one on 127.0.0.1:11211"
    [ "$(id -u)" -eq 0 ] || fail "memcached is missing: run, as root, apt-get update && apt-get install -y memcached"
    apt_log=$(mktemp)
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y memcached || { DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y memcached; }; } >"$apt_log" 2>&1; then
      tail -n 20 "$apt_log" >&2
      rm -f "$apt_log"
      fail "could not install memcached (apt-get output above): the Memcached store's tests need it on 127.0.0.1:11211"
    fi
    rm -f "$apt_log"
  fi
  echo "ensure-services: starting Memcached"
  memcached -d -u root -l 127.0.0.1 -p 11211 -m 256 || true
  wait_for Memcached bash -c '(exec 3<>/dev/tcp/127.0.0.1/11211)' || fail "start Memcached on 127.0.0.1:11211 (memcached -d -u root -l 127.0.0.1 -p 11211)"
fi

# Chromium for test/browser: Debian's package, driven by playwright-core (which downloads no browser; `npx
# playwright install` fails here). CHROMIUM_PATH names another binary, which is then only checked.
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  [ -z "${CHROMIUM_PATH:-}" ] || fail "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable: point it at chromium, or unset it to use Debian's /usr/bin/chromium"
  echo "ensure-services: installing chromium for the browser tests (apt-get install -y chromium)"
  command -v apt-get >/dev/null || fail "chromium is missing at /usr/bin/chromium and there is no apt-get: install Debian's chromium package"
  [ "$(id -u)" -eq 0 ] || fail "chromium is missing at /usr/bin/chromium: run, as root, apt-get update && apt-get install -y chromium"
  apt_log=$(mktemp)
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } >"$apt_log" 2>&1; then
    tail -n 20 "$apt_log" >&2
    rm -f "$apt_log"
    fail "could not install chromium (apt-get output above): the browser tests need it at /usr/bin/chromium"
  fi
  rm -f "$apt_log"
  [ -x "$CHROMIUM" ] || fail "apt-get installed chromium but /usr/bin/chromium is missing"
fi
# (Debian's launcher script may print a harmless shell warning about /dev/shm on stderr.)
chromium_version=$("$CHROMIUM" --version 2>/dev/null) || fail "$CHROMIUM does not run (try: $CHROMIUM --version)"

# The databases the suites use.
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test' >/dev/null || fail "cannot create PostgreSQL database test"
mysql -h 127.0.0.1 -P 3306 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' || fail "cannot create MariaDB database test"
echo "ensure-services: PostgreSQL, MariaDB, Redis and Memcached are up; $chromium_version"
