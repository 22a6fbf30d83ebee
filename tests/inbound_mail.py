"""Inbound messages for the tests: the corpus filled in for a delivery, and a few built here."""

from pathlib import Path

from newsletter.mail import verp

CORPUS = Path(__file__).parent / "inbound_corpus"
BOUNCE_ADDRESS = "bounces@news.engage.example.org"
UNSUBSCRIBE_MAILTO = "unsubscribe@engage.example.org"


def corpus_names() -> list[str]:
    return sorted(path.name for path in CORPUS.glob("*--*.txt"))


def corpus(name: str, delivery=None, *, to=None, recipient=None, message_id=None) -> bytes:
    """A corpus message about `delivery`: delivered to its VERP address, naming its subscriber."""
    kind = name.split("--")[0]
    if to is None:
        purpose = verp.UNSUBSCRIBE if kind == "unsubscribe" else verp.BOUNCE
        base = UNSUBSCRIBE_MAILTO if kind == "unsubscribe" else BOUNCE_ADDRESS
        to = verp.address(base, verp.make_token(purpose, delivery.pk)) if delivery else base
    if recipient is None:
        recipient = delivery.subscriber.email if delivery else "nobody@example.org"
    if message_id is None:
        message_id = delivery.message_id.strip("<>") if delivery else "unknown@example.net"
    return_path = BOUNCE_ADDRESS
    if delivery:
        return_path = verp.address(BOUNCE_ADDRESS, verp.make_token(verp.BOUNCE, delivery.pk))
    text = (CORPUS / name).read_text()
    for placeholder, value in (
        ("@@TO@@", to),
        ("@@RECIPIENT@@", recipient),
        ("@@MESSAGE_ID@@", message_id),
        ("@@RETURN_PATH@@", return_path),
    ):
        text = text.replace(placeholder, value)
    return text.replace("\n", "\r\n").encode()
