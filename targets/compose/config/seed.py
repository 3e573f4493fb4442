"""Create the sample marketplace database in the example's PostgreSQL once (the `seed` service).

Waits for the server, then does nothing if the database exists (the project brought up again).
"""

import os
import time

import psycopg

from cachechaos.runtime import postgres
from cachechaos.runtime.topology import PostgresSettings

host, port = os.environ.get("POSTGRES_HOST", "postgres"), int(os.environ.get("POSTGRES_PORT", "5432"))
deadline = time.monotonic() + 60
while True:
    try:
        with postgres.connect(host, port, "postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (postgres.DB_NAME,)).fetchone()
        break
    except psycopg.OperationalError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
if not exists:
    settings = PostgresSettings.model_validate({"products": int(os.environ.get("PRODUCTS", "1000")),
                                                "description_bytes": int(os.environ.get("DESCRIPTION_BYTES", "0"))})
    postgres.create_database(host, port, settings)
    print(f"seeded {postgres.DB_NAME} at {host}:{port}")
