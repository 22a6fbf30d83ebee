"""A private Dovecot IMAP server for the inbound tests: a real mailbox on loopback.

    server = Dovecot().start()     # a free port, imaps with a self-signed certificate made here
    server.url                     # imaps://reader:secret@127.0.0.1:<port>/INBOX
    server.starttls_url            # imap://…, where STARTTLS is required before login
    server.append(raw_bytes)       # a message arrives (IMAP APPEND, as an MDA would file it)
    server.messages()              # [(uid, flags, raw)] still in the mailbox
    server.stop(); server.start()  # a dropped connection, then the server back (same mailbox)
    server.destroy()

Dovecot runs in the foreground (-F) from a config under a temp dir, with a passwd-file user whose
mail is a maildir there. Mail is owned by `nobody`: Dovecot refuses to serve mail as root. The test
process trusts the certificate through SSL_CERT_FILE, which OpenSSL reads for its default store
(child processes, such as a Celery worker, inherit it).
"""

import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
from pathlib import Path

from imapclient import IMAPClient

from tests.support import free_port, wait_until

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "reader", "secret"

CONFIG = """
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


class Dovecot:
    def __init__(self):
        self.port = free_port()
        self.imap_port = free_port()  # plain IMAP, for STARTTLS
        self.dir = Path(tempfile.mkdtemp(prefix="engage-dovecot-"))
        os.chmod(self.dir, 0o755)  # noqa: S103 - Dovecot's unprivileged processes read it
        self.proc: subprocess.Popen | None = None
        owner = pwd.getpwnam("nobody")
        for sub in ("run", "state", "mail", "home"):
            (self.dir / sub).mkdir()
        for sub in ("mail", "home"):
            os.chown(self.dir / sub, owner.pw_uid, owner.pw_gid)
        (self.dir / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", str(self.dir / "key.pem"), "-out", str(self.dir / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        self.config = self.dir / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(
                dir=self.dir,
                port=self.port,
                imap_port=self.imap_port,
                uid=owner.pw_uid,
                gid=owner.pw_gid,
            )
        )
        self.cert = str(self.dir / "cert.pem")
        self._cert_file_before = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = self.cert

    @property
    def url(self) -> str:
        return f"imaps://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    @property
    def starttls_url(self) -> str:
        return f"imap://{USER}:{PASSWORD}@localhost:{self.imap_port}/INBOX"

    def start(self) -> "Dovecot":
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._answers, 30, message=f"Dovecot on port {self.port}\n{self.log()}")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"dovecot exited:\n{self.log()}")
        try:
            with self.client():
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # every login and imap child: the line drops
            self.proc.wait(timeout=30)
            shutil.rmtree(self.dir / "run", ignore_errors=True)
            (self.dir / "run").mkdir()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._cert_file_before is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = self._cert_file_before

    def log(self) -> str:
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")
        except OSError:
            return ""

    def client(self) -> IMAPClient:
        context = ssl.create_default_context(cafile=self.cert)
        client = IMAPClient("127.0.0.1", port=self.port, ssl=True, ssl_context=context, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def append(self, raw: bytes) -> None:
        with self.client() as client:
            client.append("INBOX", raw)

    def messages(self) -> list[tuple[int, tuple, bytes]]:
        with self.client() as client:
            client.select_folder("INBOX", readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}
            return [(uid, fetched[uid][b"FLAGS"], fetched[uid][b"BODY[]"]) for uid in uids]
