"""A private PostgreSQL server for tests that stop and start the database (outage tests).

Never stop the shared server on 5432: other tests use it. Make a throwaway one instead:

    from .pgserver import PgServer

    server = PgServer().start()          # initdb into a temp dir, pg_ctl start on a free port
    url = server.create_database("engage")   # postgres://postgres@127.0.0.1:<port>/engage
    server.migrate(url)                  # manage.py migrate in a subprocess
    ...                                  # run gunicorn / workers with DATABASE_URL=url
    server.stop()                        # pg_ctl stop -m fast: the outage begins
    server.start()                       # the same data directory, the same port
    server.destroy()                     # stop and delete everything

or as a context manager that destroys it at the end: `with PgServer() as server: ...`.
tests/test_outage.py shows the whole pattern (its `WebServer` runs gunicorn against the server).
PostgreSQL refuses to run as root, so as root every command runs as the `postgres` OS user
(`runuser -u postgres --`), which owns the temp directory. Trust authentication on loopback only.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from tests.support import ROOT, free_port


def _bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")


class PgServer:
    def __init__(self, *, durable: bool = False):
        """`durable`: fsync on, as in production (bench/load.py measures commits with it)."""
        self.durable = durable
        self.bin = _bin_dir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="engage-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, user="postgres", group="postgres")
        self._initialised = False

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}\n{self.server_log()}"
            )
        return result

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> "PgServer":
        if not self._initialised:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
            self._initialised = True
        # Loopback only; the socket lives in our temp dir, not /var/run/postgresql; no fsync for a
        # throwaway server (a fast shutdown still writes everything, so nothing is lost by a stop).
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        """Stop now, as an outage would: open connections are cut (fast shutdown)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def create_database(self, name: str) -> str:
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def migrate(self, url: str) -> None:
        """Create Engage's schema in the database at `url` (a subprocess, its own settings)."""
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{result.stdout}{result.stderr}")

    def scalar(self, database: str, sql: str, params=()):
        with self.connect(database) as conn:
            return conn.execute(sql, params).fetchone()[0]

    def destroy(self) -> None:
        if self.running:
            with contextlib.suppress(RuntimeError):  # already stopped by the test
                self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "PgServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.destroy()
