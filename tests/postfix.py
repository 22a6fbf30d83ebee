"""A private Debian Postfix for the MTA recipe's test: a real MX on a loopback port.

    postfix = Postfix(recipe).start()   # main.cf, transport and master.cf lines added to our own
    postfix.send(raw, sender="", to=[...])   # another server hands over a message by SMTP
    postfix.log()                       # its mail log (maillog_file, no syslog needed)
    postfix.queue()                     # what it still holds (postqueue -p)
    postfix.flush()                     # retry deferred mail now (postqueue -f)
    postfix.stop()

It runs from a configuration under a temp dir (`postfix -c dir`) with its own queue and data
directories, listening on 127.0.0.1 at a free port only, so it conflicts with no other mail system
on the machine. The base configuration is this instance's own; the recipe's lines are appended
to it exactly as the README gives them, with /etc/postfix/ read as the temp dir.

`mynetworks` lists no loopback address: the test's SMTP client is "another server" on the
Internet, not a trusted local one, so Postfix relays to the recipe's domains only because the
recipe says so (relay_domains), as it would for a real MX.
"""

import shutil
import smtplib
import subprocess
import tempfile
from pathlib import Path

from tests.support import free_port, wait_until

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SBIN = Path(POSTFIX).parent

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.news.engage.example.org
mydestination =
mynetworks = 192.0.2.1/32
inet_interfaces = loopback-only
inet_protocols = ipv4
maillog_file_prefixes = {dir}
maillog_file = {dir}/maillog
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = no
# Nothing leaves this instance: a DSN Postfix writes itself goes nowhere.
default_transport = error:no outbound mail from the test instance
relay_transport = error:no outbound mail from the test instance
delay_warning_time = 0
"""

# Every service runs unchrooted: the chroot would need copies of /etc files in the queue dir.
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    def __init__(self, *, main_cf: str, transport: str, master_cf: str, library_path: str = ""):
        """The recipe's three files' lines, with /etc/postfix/ standing for the config dir.
        `library_path`: where the commands Postfix runs find shared libraries (a Python built
        with --enable-shared outside the system's library dirs)."""
        self.dir = Path(tempfile.mkdtemp(prefix="engage-postfix-"))
        self.dir.chmod(0o755)  # Postfix's own processes run as `postfix`
        self.port = free_port()
        (self.dir / "queue").mkdir()
        (self.dir / "data").mkdir()
        shutil.chown(self.dir / "data", "postfix", "postfix")  # master's lock, the tls caches
        local = str(self.dir) + "/"
        base = MAIN_CF.format(dir=self.dir)
        if library_path:
            base += f"export_environment = TZ MAIL_CONFIG LANG LD_LIBRARY_PATH={library_path}\n"
        (self.dir / "main.cf").write_text(base + main_cf.replace("/etc/postfix/", local))
        (self.dir / "master.cf").write_text(
            MASTER_CF.format(port=self.port) + master_cf.replace("/etc/postfix/", local)
        )
        (self.dir / "transport").write_text(transport)
        self.started = False

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*command], capture_output=True, text=True, check=check, timeout=60)

    def start(self):
        self._run(str(SBIN / "postmap"), "-c", str(self.dir), f"hash:{self.dir}/transport")
        done = self._run(POSTFIX, "-c", str(self.dir), "start", check=False)
        if done.returncode != 0:
            raise RuntimeError(f"postfix did not start:\n{done.stdout}{done.stderr}{self.log()}")
        self.started = True
        wait_until(self._answers, timeout=30, message="Postfix to listen")
        return self

    def _answers(self) -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as smtp:
                return smtp.noop()[0] == 250
        except OSError:
            return False

    def send(self, raw: bytes, *, sender: str, to: list[str]) -> dict:
        """One SMTP transaction; the refused recipients, as smtplib reports them."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.ehlo("mx.example.net")
            return smtp.sendmail(sender, to, raw)

    def log(self) -> str:
        path = self.dir / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def queue(self) -> str:
        return self._run(str(SBIN / "postqueue"), "-c", str(self.dir), "-p").stdout

    def flush(self) -> None:
        self._run(str(SBIN / "postqueue"), "-c", str(self.dir), "-f")

    def stop(self) -> None:
        if self.started:
            self._run(POSTFIX, "-c", str(self.dir), "stop", check=False)
            self.started = False

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
