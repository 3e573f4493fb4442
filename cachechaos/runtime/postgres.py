"""A throwaway PostgreSQL cluster seeded with the marketplace."""

from __future__ import annotations

import os
import shutil
import signal
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import psycopg

from cachechaos.runtime.node import Node
from cachechaos.runtime.private_dirs import private_dir
from cachechaos.runtime.process import unprivileged_user
from cachechaos.runtime.topology import PostgresSettings

DB_NAME = "cachechaos"
DB_USER = "cachechaos"

# Tuned for tests: durability off, nothing that makes startup or seeding slow.
_TEST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "autovacuum": "off",
    "unix_socket_directories": "",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


_DATA_PREFIX = "cachechaos-pg-"
_SECRET_PREFIX = "cachechaos-pgpass-"


def _sql(name: str) -> str:
    return resources.files("cachechaos.runtime").joinpath(name).read_text()


# initdb's options after `-D DIR`: the toolkit's user, trust, no fsync, the C locale.
INITDB_OPTIONS = ["-U", DB_USER, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions", "--locale=C"]


def server_settings(settings: PostgresSettings) -> list[str]:
    """The server's `-c key=value` arguments: the test tuning, then the topology's own settings."""
    merged = {**_TEST_SETTINGS, **{k: str(v) for k, v in settings.settings.items()}}
    return [arg for key, value in merged.items() for arg in ("-c", f"{key}={value}")]


def connect(host: str, port: int, dbname: str = DB_NAME, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(
        host=host, port=port, user=DB_USER, dbname=dbname, connect_timeout=2, **kwargs  # type: ignore[arg-type]
    )


def create_database(host: str, port: int, settings: PostgresSettings) -> None:
    """Create the marketplace database, its schema and the seeded rows."""
    with connect(host, port, "postgres", autocommit=True, password=settings.password) as conn:
        conn.execute(f"CREATE DATABASE {DB_NAME}")
        with connect(host, port, password=settings.password) as db:
            db.execute(_sql("schema.sql"))
    seed(host, port, settings)


def seed(host: str, port: int, settings: PostgresSettings) -> None:
    """(Re)load the seeded marketplace: every table back to its initial contents."""
    s = settings
    params = {"seed": (s.seed % 1000) / 1000.0, "categories": s.categories, "products": s.products, "users": s.users, "stock": s.stock,
              "description_bytes": s.description_bytes}
    with connect(host, port, password=settings.password) as conn:
        conn.execute("TRUNCATE orders, carts, products, users, categories RESTART IDENTITY")
        for statement in _sql("seed.sql").split(";"):
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
            if body:
                conn.execute(body, params)
        conn.execute("ANALYZE")


class PostgresNode(Node):
    kind = "postgres"
    # SIGINT is PostgreSQL's "fast shutdown"; SIGTERM waits for clients to leave.
    stop_signal = signal.SIGINT

    def __init__(self, name: str, host: str, port: int, node_dir: Path, bindir: str, settings: PostgresSettings) -> None:
        super().__init__(name, host, port, node_dir)
        self.bindir = bindir
        self.settings = settings
        self.run_as = unprivileged_user()
        self.data_dir = self._make_data_dir()
        self._secret_dir: Path | None = None  # initdb's password file, while initdb runs

    def _make_data_dir(self) -> Path:
        if self.run_as is None:
            return self.dir / "data"
        # PostgreSQL refuses to run as root, and the run directory may sit under a
        # path its user cannot enter (pytest's 0700 temp dirs, /root): give it a
        # private directory it owns, linked from the run directory.
        path = private_dir(_DATA_PREFIX, self.run_as)
        link = self.dir / "data"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path)
        return path / "data"

    @property
    def dsn(self) -> str:
        """The toolkit's own DSN, with the password (in memory only: run.json masks it, node files never get it)."""
        return self.dsn_for(self.host, self.port, self.settings.password)

    @staticmethod
    def dsn_for(host: str, port: int, password: str | None = None) -> str:
        secret = f":{quote(password, safe='')}" if password else ""
        return f"postgresql://{DB_USER}{secret}@{host}:{port}/{DB_NAME}"

    def user(self) -> str | None:
        return self.run_as

    def initdb_argv(self) -> list[str]:
        argv = [os.path.join(self.bindir, "initdb"), "-D", str(self.data_dir), *INITDB_OPTIONS]
        if self.settings.password is None:
            return argv
        # Over TCP (the only way in: no unix socket) the role gives its password, checked by scram-sha-256.
        # initdb reads it from a file: one in a private directory, removed once initdb is done.
        self._secret_dir = private_dir(_SECRET_PREFIX, self.run_as)
        pwfile = self._secret_dir / "pwfile"
        pwfile.write_text(self.settings.password + "\n")
        if self.run_as is not None:
            shutil.chown(pwfile, self.run_as)
        return [*[a for a in argv if a != "--auth=trust"], "--auth-local=trust", "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}"]

    def forget_password_file(self) -> None:
        """Remove initdb's password file (initdb has read it)."""
        if self._secret_dir is not None:
            shutil.rmtree(self._secret_dir, ignore_errors=True)
            self._secret_dir = None

    def argv(self) -> list[str]:
        return [os.path.join(self.bindir, "postgres"), "-D", str(self.data_dir), "-h", self.host, "-p", str(self.port),
                *server_settings(self.settings)]

    def connect(self, dbname: str = DB_NAME, **kwargs: object) -> psycopg.Connection:
        return connect(self.host, self.port, dbname, password=self.settings.password, **kwargs)

    def ready(self) -> bool:
        with self.connect("postgres") as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def create_database(self) -> None:
        create_database(self.host, self.port, self.settings)

    def seed(self) -> None:
        """(Re)load the seeded marketplace: every table back to its initial contents."""
        seed(self.host, self.port, self.settings)

    def product_count(self) -> int:
        with self.connect() as conn:
            row = conn.execute("SELECT count(*) FROM products").fetchone()
        return int(row[0]) if row else 0

    def remove_data(self) -> None:
        """Drop the cluster's files (tens of MB); logs stay in the run directory."""
        target = self.data_dir.parent if self.run_as is not None else self.data_dir
        shutil.rmtree(target, ignore_errors=True)
        self.forget_password_file()
