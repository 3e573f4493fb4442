# A Redis node or a Sentinel (ROLE), announcing ANNOUNCE_PORT on the Toxiproxy service.
# The config is copied to a writable file on the first start only: Sentinel rewrites it (and has
# Redis rewrite its own after a failover), and a container killed and started again keeps what they wrote.
set -e
conf="/tmp/$ROLE.conf"
if [ ! -s "$conf" ]; then
  sed "s/@ANNOUNCE_PORT@/$ANNOUNCE_PORT/" "/config/$ROLE.conf" > "$conf"
  if [ -n "$REPLICA_OF" ]; then echo "replicaof $REPLICA_OF" >> "$conf"; fi
fi
if [ "$ROLE" = sentinel ]; then exec redis-server "$conf" --sentinel; fi
exec redis-server "$conf"
