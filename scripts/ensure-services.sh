#!/usr/bin/env bash
# Makes sure the servers the test suite talks to are up: PostgreSQL, MariaDB and Redis on 127.0.0.1.
# Starts each one that is down (commands from shared/TOOLCHAIN.md) and fails, with what to do, if it cannot.
# No backend is ever skipped: a suite whose server is missing fails.
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

# MariaDB (root, empty password, database "test")
if ! mysqladmin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then
  echo "ensure-services: starting MariaDB"
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || fail "MariaDB is down and mariadbd is missing: apt-get install -y mariadb-server"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_for MariaDB mysqladmin -h 127.0.0.1 -P 3306 -uroot ping || fail "start MariaDB on 127.0.0.1:3306 (root, empty password)"
fi

# The databases the suites use.
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test' >/dev/null || fail "cannot create PostgreSQL database test"
mysql -h 127.0.0.1 -P 3306 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' || fail "cannot create MariaDB database test"
echo "ensure-services: PostgreSQL, MariaDB and Redis are up"
