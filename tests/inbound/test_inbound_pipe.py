"""`manage.py process_inbound` as an MTA's pipe runs it: a process, the message on stdin, and an
exit status the MTA acts on."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from newsletter.mail import verp
from newsletter.models import InboundMessage, Subscriber
from tests import ledger
from tests.inbound_mail import BOUNCE_ADDRESS, corpus
from tests.support import ROOT, database_url, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def process_inbound(raw: bytes, *args: str, database: str | None = None):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "engage.settings",
        "DATABASE_URL": database or database_url(),
        "BOUNCE_ADDRESS": BOUNCE_ADDRESS,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "process_inbound", *args],
        input=raw,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def readers(topics):
    campaign = ledger.campaign(topics["news"])
    return {
        name: ledger.delivery(campaign, ledger.subscriber(f"{name}@example.org"))
        for name in ("bea", "cal", "dee", "eve")
    }


def test_a_bounce_a_complaint_and_an_unsubscribe_each_reach_their_subscriber(readers):
    for name, message in (
        ("bea", "hard_bounce--postfix.txt"),
        ("cal", "complaint--yahoo.txt"),
        ("dee", "unsubscribe--mailto.txt"),
    ):
        done = process_inbound(corpus(message, readers[name]))
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.startswith(b"recorded: ")

    assert dict(Subscriber.objects.values_list("email", "status")) == {
        "bea@example.org": "bounced",
        "cal@example.org": "complained",
        "dee@example.org": "unsubscribed",
        "eve@example.org": "active",
    }


def test_the_envelope_recipient_argument_carries_the_verp_token(readers):
    raw = corpus("hard_bounce--gmail.txt", readers["bea"], to="postmaster@example.net")
    recipient = verp.address(BOUNCE_ADDRESS, verp.make_token(verp.BOUNCE, readers["bea"].pk))
    raw = raw.replace(readers["bea"].message_id.strip("<>").encode(), b"lost@relay.example.net")

    done = process_inbound(raw, "--recipient", recipient)

    assert done.returncode == 0, done.stderr.decode()
    assert Subscriber.objects.get(email="bea@example.org").status == "bounced"


def test_a_second_delivery_of_the_same_message_exits_0_and_changes_nothing(readers):
    raw = corpus("soft_bounce--postfix-delayed.txt", readers["bea"])
    assert process_inbound(raw).returncode == 0

    again = process_inbound(raw)

    assert again.returncode == 0 and again.stdout.startswith(b"already recorded: ")
    assert InboundMessage.objects.count() == 1
    assert Subscriber.objects.get(email="bea@example.org").soft_bounces == 1


def test_an_empty_message_exits_65_data_error():
    done = process_inbound(b"")

    assert done.returncode == 65
    assert not InboundMessage.objects.exists()


def test_with_the_database_away_it_exits_75_so_the_mta_tries_later(readers):
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/engage"

    done = process_inbound(corpus("hard_bounce--postfix.txt", readers["bea"]), database=closed)

    assert done.returncode == 75, done.stderr.decode()
    assert b"try later" in done.stderr
    assert Subscriber.objects.get(email="bea@example.org").status == "active"


def test_the_readme_postfix_wrapper_runs_process_inbound_with_the_deployments_environment(
    readers, tmp_path
):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n( *#!/bin/sh\n.*?)\n\s*```", readme, re.DOTALL).group(1)
    script = textwrap.dedent(block)
    assert script.startswith("#!/bin/sh\n")
    (tmp_path / ".env").write_text(
        f"DATABASE_URL={database_url()}\nBOUNCE_ADDRESS={BOUNCE_ADDRESS}\n"
        f"DJANGO_SETTINGS_MODULE=engage.settings\n"
    )
    wrapper = tmp_path / "process-inbound"
    wrapper.write_text(
        script.replace("/srv/engage/.env", str(tmp_path / ".env"))
        .replace("/srv/engage/.venv/bin/python", sys.executable)
        .replace("/srv/engage/manage.py", str(ROOT / "manage.py"))
    )
    wrapper.chmod(0o755)
    recipient = verp.address(BOUNCE_ADDRESS, verp.make_token(verp.BOUNCE, readers["eve"].pk))
    raw = corpus("hard_bounce--exim-plain.txt", readers["eve"], to="postmaster@example.net")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}

    # As Postfix's pipe(8) runs it: argv from master.cf, the message on stdin.
    done = subprocess.run(
        [str(wrapper), recipient], input=raw, capture_output=True, env=env, check=False
    )

    assert done.returncode == 0, done.stderr.decode()
    assert Subscriber.objects.get(email="eve@example.org").status == "bounced"
