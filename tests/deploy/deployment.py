"""A deployment made the README's way in a temporary folder: a fresh clone, its own virtualenv,
an empty PostgreSQL database, `.env`, the release commands and `honcho start`."""

import os
import secrets
import shlex
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg

from tests.deploy import readme
from tests.support import ROOT, free_port, wait_until

# What this machine must put in place of the README's example values: its own database, Redis,
# SMTP server and port. No TLS proxy stands in front here, so no redirect to HTTPS either.
MACHINE_SPECIFIC = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "SECURE_SSL_REDIRECT",
    "PORT",
)
# The shell a person types in: no settings variable of the test run, no activated virtualenv.
PASSED_THROUGH = ("HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_ROOT", "USER", "LOGNAME")


def _postgres(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_postgres(with_database(url, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_postgres(with_database(url, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def shell_env() -> dict:
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "activate").exists()
    )
    return {"PATH": path, **{k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}}


class Deployment:
    def __init__(self, folder: Path, *, email_url: str):
        self.folder = folder
        self.checkout = folder / "engage"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        test_db = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
        self.database_url = with_database(os.environ["DATABASE_URL"], f"{test_db}_fresh_clone")
        self.values = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": self.base,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
            "EMAIL_URL": email_url,
            "SECURE_SSL_REDIRECT": "false",
            "PORT": str(self.port),
        }
        # Documented variables this machine needs too: two web processes (two cores shared by
        # every test), and a queue of its own on the shared Redis.
        self.extra = {"WEB_CONCURRENCY": "2", "CELERY_QUEUE": f"fresh-clone-{self.port}"}
        self.outputs: dict[str, str] = {}
        self.log = folder / "honcho.log"
        self.honcho: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        """The README's variables with this machine's values where they must differ."""
        documented = readme.environment()
        for name, value in documented.items():
            assert "…" not in value or name in self.values, f"README's {name} is a placeholder"
        return {**documented, **self.values, **self.extra}

    def prepare(self) -> None:
        subprocess.run(
            ["git", "clone", "--quiet", str(ROOT), str(self.checkout)],
            check=True,
            timeout=120,
        )
        create_database(self.database_url)
        lines = [f"{name}={_quote(value)}" for name, value in self.environment().items()]
        (self.checkout / ".env").write_text("\n".join(lines) + "\n")

    def run(self, line: str, timeout: float = 900) -> str:
        result = subprocess.run(
            ["bash", "-c", line],
            cwd=self.checkout,
            env=shell_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"`{line}` failed:\n{output[-5000:]}"
        self.outputs[line] = result.stdout
        return result.stdout

    def start(self, line: str) -> None:
        self.started_at = time.monotonic()
        self.honcho = subprocess.Popen(  # noqa: SIM115 - stopped by stop()
            ["bash", "-c", line],
            cwd=self.checkout,
            env=shell_env(),
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def running(self) -> set[str]:
        """Which of web, worker and beat have a live process under honcho."""
        found = set()
        for process in psutil.Process(self.honcho.pid).children(recursive=True):
            try:
                command = " ".join(process.cmdline())
            except psutil.Error:
                continue
            if "gunicorn" in command:
                found.add("web")
            elif "celery" in command and " worker" in command:
                found.add("worker")
            elif "celery" in command and " beat" in command:
                found.add("beat")
        return found

    def manage(self, *args: str) -> str:
        """A management command in the deployment's environment, as the README runs them."""
        quoted = " ".join(_quote(a) for a in args)
        return self.run(f".venv/bin/honcho run .venv/bin/python manage.py {quoted}", timeout=120)

    def stop(self) -> None:
        if self.honcho and self.honcho.poll() is None:
            os.killpg(self.honcho.pid, signal.SIGTERM)
            try:
                self.honcho.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.honcho.pid, signal.SIGKILL)
                self.honcho.wait(30)
        drop_database(self.database_url)

    def wait_until_healthy(self, client, timeout: float = 240) -> None:
        def healthy():
            assert self.honcho.poll() is None, self.output()[-5000:]
            try:
                return client.get("/healthz")[0] == 200
            except OSError:
                return False

        wait_until(healthy, timeout, interval=1, message="/healthz to answer 200")


def _quote(value: str) -> str:
    return shlex.quote(value)
