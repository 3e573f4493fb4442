# A Redis node or a Sentinel (ROLE), announcing ANNOUNCE_PORT on the Toxiproxy service.
# The config is copied to a writable file on the first start only: Sentinel rewrites it (and has
# Redis rewrite its own after a failover), and a container killed and started again keeps what they wrote.
set -e
conf="/tmp/$ROLE.conf"
if [ ! -s "$conf" ]; then
  sed "s/@ANNOUNCE_PORT@/$ANNOUNCE_PORT/" "/config/$ROLE.conf" > "$conf"
  if [ -n "$REPLICA_OF" ]; then echo "replicaof $REPLICA_OF" >> "$conf"; fi
  if [ "$ROLE" = redis ]; then
    # The settings a gate checks, from the environment (wrong-settings.yml switches them): evict
    # the least recently used keys under memory pressure, and acknowledge a write only while a
    # replica has acknowledged the stream within 1 s, so that a primary partitioned from its
    # replicas stops acknowledging writes it would drop on heal (split brain). Two replicas: a
    # primary promoted after a kill still has one.
    echo "maxmemory-policy ${MAXMEMORY_POLICY:-allkeys-lru}" >> "$conf"
    echo "min-replicas-to-write ${MIN_REPLICAS_TO_WRITE:-1}" >> "$conf"
    echo "min-replicas-max-lag ${MIN_REPLICAS_MAX_LAG:-1}" >> "$conf"
  fi
fi
if [ "$ROLE" = sentinel ]; then exec redis-server "$conf" --sentinel; fi
exec redis-server "$conf"
