"""The sender authentication check against a real DNS server on loopback serving test zones
(tests/dns_server.py; DNS_RESOLVER points the check at it): in admin and in `check --deploy`."""

import io

import pytest
from django.core.management import call_command

from engage.checks import sender_authentication
from newsletter.mail import sender_auth
from tests.dns_server import DnsServer
from tests.factories import staff_member

KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtestkey"
ZONE_HEAD = """$ORIGIN {origin}.
$TTL 300
@ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300
@ IN NS ns.{origin}.
"""
COMPLETE = ZONE_HEAD.format(origin="complete.test") + (
    '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\n'
    '@ IN TXT "google-site-verification=abc"\n'
    f'engage._domainkey IN TXT "v=DKIM1; k=rsa; " "p={KEY}"\n'
    '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@complete.test"\n'
)
NO_DMARC = ZONE_HEAD.format(origin="nodmarc.test") + (
    f'@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\nengage._domainkey IN TXT "v=DKIM1; k=rsa; p={KEY}"\n'
)
NOTHING = ZONE_HEAD.format(origin="bare.test") + "www IN A 192.0.2.20\n"
TWO_SPF = ZONE_HEAD.format(origin="twospf.test") + (
    '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\n'
    '@ IN TXT "v=spf1 include:esp.example.net ~all"\n'
    f'engage._domainkey IN TXT "v=DKIM1; p={KEY}"\n'
    '_dmarc IN TXT "v=DMARC1; p=none"\n'
)


@pytest.fixture(scope="module")
def dns_server():
    server = DnsServer(COMPLETE, NO_DMARC, NOTHING, TWO_SPF).start()
    yield server
    server.stop()


@pytest.fixture
def dns(dns_server, settings):
    settings.DNS_RESOLVER = dns_server.address
    settings.DKIM_SELECTOR = "engage"
    settings.DKIM_DOMAIN = ""
    settings.SITE_URL = "https://charity.test"
    return dns_server


def by_name(domain: str) -> dict[str, sender_auth.Check]:
    return {check.name: check for check in sender_auth.checks(domain)}


def test_a_complete_domain_passes_every_requirement(dns):
    found = by_name("complete.test")
    assert {name: check.ok for name, check in found.items()} == {
        "SPF": True,
        "DKIM": True,
        "DMARC": True,
        "One-click unsubscribe": True,
    }
    assert found["DKIM"].found == f"v=DKIM1; k=rsa; p={KEY}"  # its two strings as one
    assert "p=quarantine" in found["DMARC"].advice
    assert "engage._domainkey.complete.test. TXT" in dns.queries


def test_a_domain_without_dmarc_shows_dmarc_missing_and_nothing_else(dns):
    found = by_name("nodmarc.test")
    assert [name for name, check in found.items() if not check.ok] == ["DMARC"]
    assert found["DMARC"].advice.startswith("Missing: no DMARC policy at _dmarc.nodmarc.test.")
    assert found["DMARC"].required_by == ("Gmail", "Yahoo", "Outlook.com")


def test_a_bare_domain_shows_each_missing_record(dns):
    found = by_name("bare.test")
    assert [name for name, check in found.items() if not check.ok] == ["SPF", "DKIM", "DMARC"]
    assert "bare.test publishes no SPF record" in found["SPF"].advice
    assert "no DKIM public key at engage._domainkey.bare.test" in found["DKIM"].advice


def test_two_spf_records_count_as_none(dns):
    found = by_name("twospf.test")
    assert not found["SPF"].ok and "2 SPF records" in found["SPF"].advice


def test_without_a_selector_dkim_cannot_be_known(dns, settings):
    settings.DKIM_SELECTOR = ""
    assert "DKIM_SELECTOR is not set" in by_name("complete.test")["DKIM"].advice


def test_a_signing_domain_other_than_the_from_domain_is_not_aligned(dns, settings):
    settings.DKIM_DOMAIN = "nodmarc.test"
    dkim = by_name("complete.test")["DKIM"]
    assert not dkim.ok and "Not aligned" in dkim.advice


def test_one_click_unsubscribe_needs_https(dns, settings):
    settings.SITE_URL = "http://charity.test"
    assert not by_name("complete.test")["One-click unsubscribe"].ok


def test_a_dns_server_that_does_not_answer_is_said_so(settings):
    dead = DnsServer(COMPLETE)  # bound, never answering
    settings.DNS_RESOLVER = dead.address
    settings.DKIM_SELECTOR = "engage"
    try:
        using = sender_auth.resolver()
        using.lifetime = 0.5
        found = {check.name: check for check in sender_auth.checks("complete.test", using)}
    finally:
        dead.stop()
    assert not found["SPF"].ok and "did not answer" in found["SPF"].advice


def test_check_deploy_names_what_is_missing(dns, settings):
    settings.DEFAULT_FROM_EMAIL = "Engage <news@nodmarc.test>"
    warnings = sender_authentication(None)
    assert [w.id for w in warnings] == ["engage.W020"]
    assert "DMARC for nodmarc.test: Missing" in warnings[0].msg

    out = io.StringIO()
    call_command("check", "--deploy", "--tag", "sender_authentication", stdout=out, stderr=out)
    assert "DMARC for nodmarc.test" in out.getvalue()

    settings.DEFAULT_FROM_EMAIL = "Engage <news@complete.test>"
    assert sender_authentication(None) == []


def test_check_deploy_looks_nothing_up_for_the_demos_example_address(settings):
    settings.DEFAULT_FROM_EMAIL = "Engage <news@engage.example.org>"
    settings.DNS_RESOLVER = "127.0.0.1:9"  # nothing answers there: a lookup would say so
    assert sender_authentication(None) == []


@pytest.mark.django_db
def test_the_admin_page_shows_the_checklist_to_a_sender_and_not_to_an_editor(dns, client, settings):
    settings.DEFAULT_FROM_EMAIL = "Engage <news@bare.test>"
    url = "/admin/newsletter/campaign/sender-authentication/"
    client.force_login(staff_member("editor"))
    assert client.get(url).status_code == 403

    client.force_login(staff_member("sender"))
    page = client.get(url).content.decode()
    assert "Sender authentication for bare.test" in page
    assert "3 of 4 requirements are not met" in page
    assert "bare.test publishes no SPF record" in page
    assert "Missing: no DMARC policy at _dmarc.bare.test." in page
