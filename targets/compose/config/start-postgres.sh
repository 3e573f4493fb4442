# PostgreSQL in the official image or the toolkit's offline one: both keep the server in
# /usr/lib/postgresql/<major>/bin and have a postgres user. The cluster is made on the first start
# only, so a container killed and started again keeps its data. Tuned for tests: durability off.
set -e
data=/tmp/pgdata
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ ! -s "$data/PG_VERSION" ]; then
  "$bindir/initdb" -D "$data" -U cachechaos --auth=trust -E UTF8 --no-sync --no-instructions --locale=C >/dev/null
  echo 'host all all 0.0.0.0/0 trust' >> "$data/pg_hba.conf"
fi
exec "$bindir/postgres" -D "$data" -h 0.0.0.0 -p 5432 -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off -c max_connections=200 -c unix_socket_directories= -c log_min_messages=warning
