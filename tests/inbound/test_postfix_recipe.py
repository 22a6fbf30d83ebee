"""README's Postfix recipe, run as written against Debian's Postfix (tests/postfix.py).

The README's code blocks are the test's input: the main.cf, transport and master.cf lines and the
wrapper script, with only the deployment's paths (/srv/engage, /etc/postfix) pointed at temp dirs
and the pipe's user `engage` played by `nobody`. Another server then hands reports over by SMTP,
and each must reach `process_inbound` and change the right reader.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsletter.mail import verp
from newsletter.models import InboundMessage, Subscriber
from tests import ledger
from tests.inbound_mail import corpus
from tests.postfix import Postfix
from tests.support import ROOT, database_url, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

DOMAIN = "news.engage.example.org"
BOUNCE_ADDRESS = f"bounces@{DOMAIN}"
UNSUBSCRIBE_MAILTO = f"unsubscribe@{DOMAIN}"


def readme_blocks() -> dict[str, str]:
    """The README's Postfix blocks, by the file their first line names (and "wrapper")."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**A pipe from the MTA.**") :]
    section = section[: section.index("**An ESP's inbound route.**")]
    blocks = {}
    for block in re.findall(r"^ *```(?:sh)?\n(.*?)^ *```", section, re.DOTALL | re.MULTILINE):
        text = textwrap.dedent(block)
        first = text.splitlines()[0]
        if first.startswith("#!/bin/sh"):
            blocks["wrapper"] = text
        else:
            blocks[first.split()[1]] = text
    return blocks


def _reachable_by_anyone(path: Path) -> bool:
    return all(parent.stat().st_mode & 0o001 for parent in [path, *path.parents])


@pytest.fixture(scope="module")
def srv_engage():
    """/srv/engage as the README lays it out, in a temp dir that the pipe's user can read: this
    checkout's manage.py, a virtualenv with this checkout's packages, and the wrapper."""
    srv = Path(tempfile.mkdtemp(prefix="engage-srv-"))
    srv.chmod(0o755)
    base = Path(sys.base_prefix)
    if not _reachable_by_anyone(base):
        # pyenv's Python under /root, which no other user may enter: the same files, linked
        # (or copied, across file systems) where they can.
        linked = subprocess.run(["cp", "-al", str(base), str(srv / "python")], check=False)
        if linked.returncode != 0:
            shutil.copytree(base, srv / "python", symlinks=True)
        base = srv / "python"
    python = base / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(srv / ".venv")], check=True)
    (site,) = (srv / ".venv" / "lib").glob("python*/site-packages")
    (site / "engage-checkout.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (srv / "manage.py").symlink_to(ROOT / "manage.py")
    (srv / "var").mkdir(mode=0o777)
    (srv / "var").chmod(0o777)
    wrapper = srv / "process-inbound"
    wrapper.write_text(readme_blocks()["wrapper"].replace("/srv/engage", str(srv)))
    wrapper.chmod(0o755)
    yield srv
    shutil.rmtree(srv, ignore_errors=True)


@pytest.fixture
def env_file(srv_engage, settings):
    """The deployment's .env: a value a shell would choke on (`<`, `>`, spaces) included."""
    path = srv_engage / ".env"
    path.write_text(
        f"DATABASE_URL={database_url()}\n"
        f"SECRET_KEY={settings.SECRET_KEY}\n"
        f"BOUNCE_ADDRESS={BOUNCE_ADDRESS}\n"
        f"UNSUBSCRIBE_MAILTO={UNSUBSCRIBE_MAILTO}\n"
        f"CELERY_BROKER_URL={settings.CELERY_BROKER_URL}\n"
        f"ENGAGE_VAR_DIR={srv_engage / 'var'}\n"
        "DEFAULT_FROM_EMAIL=Engage News <news@engage.example.org>; the charity\n"
    )
    path.chmod(0o644)
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS
    settings.UNSUBSCRIBE_MAILTO = UNSUBSCRIBE_MAILTO
    return path


@pytest.fixture
def postfix(srv_engage, env_file):
    blocks = readme_blocks()

    def deployed(text: str) -> str:
        return text.replace("/srv/engage", str(srv_engage)).replace("user=engage", "user=nobody")

    linked_python = srv_engage / "python" / "lib"
    server = Postfix(
        main_cf=blocks["/etc/postfix/main.cf"],
        transport=blocks["/etc/postfix/transport"],
        master_cf=deployed(blocks["/etc/postfix/master.cf"]),
        library_path=str(linked_python) if linked_python.exists() else "",
    ).start()
    yield server
    print(server.log())  # shown when the test failed
    server.destroy()


@pytest.fixture
def readers(topics):
    campaign = ledger.campaign(topics["news"])
    return {
        name: ledger.delivery(campaign, ledger.subscriber(f"{name}@example.org"))
        for name in ("bea", "cal", "dee", "eve")
    }


def statuses() -> dict[str, str]:
    return dict(Subscriber.objects.values_list("email", "status"))


def report(name: str, delivery, to: str) -> bytes:
    """A corpus report as another server sends it: without the headers that final delivery adds
    (Postfix's pipe adds Delivered-To itself, and refuses a message that has it as a loop)."""
    raw = corpus(name, delivery, to=to)
    head, _, body = raw.partition(b"\r\n\r\n")
    delivery_headers = (b"delivered-to:", b"x-original-to:", b"return-path:")
    kept = [line for line in head.split(b"\r\n") if not line.lower().startswith(delivery_headers)]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def verp_address(base: str, purpose: str, delivery) -> str:
    return verp.address(base, verp.make_token(purpose, delivery.pk))


def test_the_readme_has_each_file_of_the_recipe():
    blocks = readme_blocks()

    assert set(blocks) == {
        "/etc/postfix/main.cf",
        "/etc/postfix/transport",
        "/etc/postfix/master.cf",
        "wrapper",
    }
    assert "engage_destination_recipient_limit = 1" in blocks["/etc/postfix/main.cf"]
    assert "relay_domains" in blocks["/etc/postfix/main.cf"]


def test_a_bounce_from_another_server_reaches_process_inbound_and_suppresses_its_reader(
    postfix, readers
):
    to = verp_address(BOUNCE_ADDRESS, verp.BOUNCE, readers["bea"])
    refused = postfix.send(
        report("hard_bounce--postfix.txt", readers["bea"], to), sender="", to=[to]
    )

    assert refused == {}
    wait_until(lambda: statuses()["bea@example.org"] == "bounced", message="bea suppressed")
    assert InboundMessage.objects.get().kind == "hard_bounce"
    assert {k: v for k, v in statuses().items() if k != "bea@example.org"} == {
        "cal@example.org": "active",
        "dee@example.org": "active",
        "eve@example.org": "active",
    }
    wait_until(
        lambda: "status=sent (delivered via engage service" in postfix.log(),
        message="Postfix to log the delivery",
    )


def test_another_address_at_the_domain_is_refused_at_the_door(postfix, readers):
    import smtplib

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        postfix.send(b"Subject: hello\r\n\r\nhi\r\n", sender="", to=[f"postmaster@{DOMAIN}"])

    assert refused.value.recipients[f"postmaster@{DOMAIN}"][0] == 550
    assert not InboundMessage.objects.exists()


def test_one_message_to_two_readers_unsubscribe_addresses_unsubscribes_both(postfix, readers):
    to = [
        verp_address(UNSUBSCRIBE_MAILTO, verp.UNSUBSCRIBE, readers["cal"]),
        verp_address(UNSUBSCRIBE_MAILTO, verp.UNSUBSCRIBE, readers["dee"]),
    ]
    request = EmailMessage()
    request["From"] = "Cal and Dee <household@example.org>"
    request["To"] = ", ".join(to)
    request["Subject"] = "unsubscribe"
    request["Message-ID"] = "<one-request-two-readers@example.org>"
    request.set_content("Please take us both off the list.")

    assert postfix.send(request.as_bytes(), sender="household@example.org", to=to) == {}

    wait_until(
        lambda: statuses()["cal@example.org"] == statuses()["dee@example.org"] == "unsubscribed",
        message="both readers unsubscribed",
    )
    assert statuses()["bea@example.org"] == statuses()["eve@example.org"] == "active"
    assert InboundMessage.objects.count() == 1


def test_when_the_wrapper_cannot_start_postfix_defers_the_report_and_delivers_it_later(
    postfix, readers, srv_engage
):
    python = srv_engage / ".venv" / "bin" / "python"
    python.rename(python.with_name("python-away"))  # a half-finished upgrade, say
    to = verp_address(BOUNCE_ADDRESS, verp.BOUNCE, readers["eve"])
    try:
        assert (
            postfix.send(report("hard_bounce--postfix.txt", readers["eve"], to), sender="", to=[to])
            == {}
        )
        wait_until(lambda: "status=deferred" in postfix.log(), message="Postfix to defer")

        assert "status=bounced" not in postfix.log()
        assert to in postfix.queue()
        assert statuses()["eve@example.org"] == "active"
    finally:
        python.with_name("python-away").rename(python)

    postfix.flush()

    wait_until(lambda: statuses()["eve@example.org"] == "bounced", message="the retry to act")
    wait_until(lambda: "Mail queue is empty" in postfix.queue(), message="the queue to empty")


def test_the_wrapper_reads_the_env_file_as_data_not_as_shell(srv_engage, env_file, readers):
    """The .env's `DEFAULT_FROM_EMAIL=Engage News <…>; the charity` would be a redirection and a
    second command to a shell that sourced it."""
    to = verp_address(BOUNCE_ADDRESS, verp.BOUNCE, readers["dee"])
    env = {"PATH": "/usr/bin:/bin"}  # what pipe(8) gives a command: next to nothing

    done = subprocess.run(
        [str(srv_engage / "process-inbound"), to],
        input=corpus("hard_bounce--gmail.txt", readers["dee"], to=to),
        capture_output=True,
        env=env,
        check=False,
        cwd=srv_engage,
    )

    assert done.returncode == 0, done.stderr.decode()
    assert statuses()["dee@example.org"] == "bounced"
    assert not (srv_engage / "the").exists()
    assert os.environ.get("ENGAGE_ENV_FILE") is None
