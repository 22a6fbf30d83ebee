"""Real bounces from many MTAs, read as the inbound door reads them, scored against what the
collections' own test suites expect.

Two collections (see tests/inbound/corpus/ORIGIN.md): sisimai's set-of-emails, with the reason,
status and hard/soft flag sisimai's test suite expects per recipient; and GNU Mailman's flufl.bounce
test messages, with the failed addresses and permanent/temporary flag its tests expect. Every miss
goes to test-artifacts/bounce-misses.txt; the per-family table is printed (pytest -s shows it).
"""

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from newsletter.inbound import bounces

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[2]
MISSES = ROOT / "test-artifacts" / "bounce-misses.txt"


def sisimai_corpus() -> Path:
    """Not committed (ORIGIN.md says why): built here, or a copy named by BOUNCE_CORPUS, or the
    steering repo's shared/ beside the checkout."""
    for where in (os.environ.get("BOUNCE_CORPUS"), CORPUS, ROOT.parent / "shared/bounce-corpus"):
        if where and (Path(where) / "sisimai" / "expected.json").is_file():
            return Path(where) / "sisimai"
    raise AssertionError(
        "sisimai's corpus is missing: run tests/inbound/corpus/build_sisimai.py or set"
        " BOUNCE_CORPUS (see tests/inbound/corpus/ORIGIN.md)"
    )


HARD, SOFT = bounces.HARD_BOUNCE, bounces.SOFT_BOUNCE
RECIPIENT, SENDER, UNKNOWN = bounces.RECIPIENT, bounces.SENDER, bounces.UNKNOWN
NOT_A_BOUNCE = {bounces.COMPLAINT, bounces.AUTO_REPLY, bounces.OTHER, bounces.UNSUBSCRIBE}

# sisimai's reason -> (our kind, who failed), the ONE table the scores rest on. A kind of None
# means "hard when the status is 5.x.x, soft when it is 4.x.x" (a 4.x.x says: try again later).
# Why each row: ORIGIN.md, "Reasons".
REASONS = {
    # The reader's address is dead: suppress.
    "userunknown": (None, RECIPIENT),
    "hostunknown": (None, RECIPIENT),
    "suspend": (None, RECIPIENT),
    "hasmoved": (None, RECIPIENT),
    "notaccept": (None, RECIPIENT),
    # Transient, whatever the code: counts towards the soft limit.
    "mailboxfull": (SOFT, RECIPIENT),
    "expired": (SOFT, UNKNOWN),
    "networkerror": (SOFT, UNKNOWN),
    "toomanyconn": (SOFT, UNKNOWN),
    "systemerror": (SOFT, UNKNOWN),
    "systemfull": (SOFT, UNKNOWN),
    # The sending side's problem: never suppresses the reader, shown per campaign.
    "filtered": (None, SENDER),
    "rejected": (None, SENDER),
    "blocked": (None, SENDER),
    "spamdetected": (None, SENDER),
    "securityerror": (None, SENDER),
    "policyviolation": (None, SENDER),
    "mesgtoobig": (None, SENDER),
    "exceedlimit": (None, SENDER),
    "norelaying": (None, SENDER),
    "virusdetected": (None, SENDER),
    "contenterror": (None, SENDER),
    "authfailure": (None, SENDER),
    "badreputation": (None, SENDER),
    "speeding": (None, SENDER),
    "requireptr": (None, SENDER),
    "notcompliantrfc": (None, SENDER),
    "syntaxerror": (None, SENDER),
    # Nobody can tell from the report: counted, not suppressed at once.
    "undefined": (None, UNKNOWN),
    "onhold": (None, UNKNOWN),
    "mailererror": (None, UNKNOWN),
    # Not bounces.
    "feedback": (bounces.COMPLAINT, ""),
    "vacation": (bounces.AUTO_REPLY, ""),
    "delivered": (bounces.OTHER, ""),
}


@dataclass
class Expected:
    kind: str
    who: str  # only scored for permanent failures, where it decides suppression
    addresses: list[str]
    # flufl.bounce says only "permanent" (the MTA gave up) or "temporary" (still trying): a
    # permanent failure may be soft for us (a full mailbox), a temporary one must be soft.
    gave_up: bool = False


def expected_sisimai(results: list[dict]) -> Expected:
    """The message's kind is its worst recipient's: hard beats soft beats the rest."""
    kinds = []
    for result in results:
        kind, who = REASONS[result["reason"]]
        if kind is None:
            kind = SOFT if result["status"].startswith("4") else HARD
        kinds.append((kind, who))
    for wanted in (HARD, SOFT):
        for kind, who in kinds:
            if kind == wanted:
                return Expected(kind, who, [])
    return Expected(kinds[0][0], "", [])


def cases():
    sisimai = sisimai_corpus()
    for name, results in sorted(json.loads((sisimai / "expected.json").read_text()).items()):
        family = "sisimai " + name.rsplit("-", 1)[0].removeprefix("lhost-")
        yield family, sisimai / "messages" / name, expected_sisimai(results)
    flufl = json.loads((CORPUS / "flufl" / "expected.json").read_text())
    for name, want in sorted(flufl.items()):
        family = "flufl " + name.rsplit("_", 1)[0]
        kind = SOFT if want["temporary"] else HARD
        expected = Expected(kind, "", want["addresses"], gave_up=not want["temporary"])
        yield family, CORPUS / "flufl" / "messages" / name, expected


def is_bounce(kind: str) -> bool:
    return kind not in NOT_A_BOUNCE


def test_real_bounces_are_read_right():
    rows = defaultdict(lambda: [0, 0, 0, 0, 0])  # n, bounce right, kind right, who n, who right
    misses = []
    corpora = defaultdict(lambda: [0, 0, 0, set()])
    for family, path, want in cases():
        raw = path.read_bytes()
        # Exactly as the inbound door reads it: parse the bytes, classify with no envelope.
        got = bounces.classify(bounces.parse(raw))
        row = rows[family]
        row[0] += 1
        bounce_right = is_bounce(got.kind) == is_bounce(want.kind)
        kind_right = got.kind == want.kind or (want.gave_up and got.kind in (HARD, SOFT))
        row[1] += bounce_right
        row[2] += kind_right
        who_right = True
        if want.kind == HARD and want.who:
            row[3] += 1
            who_right = got.who_failed == want.who
            row[4] += who_right
        if want.addresses and kind_right:
            kind_right = set(want.addresses) <= {f.address for f in got.failures}
            row[2] -= not kind_right
        corpus = corpora[family.split()[0]]
        corpus[0] += 1
        corpus[1] += bounce_right
        corpus[2] += kind_right
        corpus[3].add(family)
        if not (bounce_right and kind_right and who_right):
            misses.append(
                f"{path.parent.parent.name}/{path.name}: expected {want.kind}/{want.who or '-'}"
                f" {' '.join(want.addresses)}; got {got.kind}/{got.who_failed or '-'}"
                f" {' '.join(f.address for f in got.failures)} [{got.reason[:160]}]"
            )
    MISSES.parent.mkdir(exist_ok=True)
    MISSES.write_text("\n".join(misses) + "\n")
    print(table(rows))
    for name, (n, bounce_right, kind_right, families) in corpora.items():
        print(
            f"{name}: {n} messages, {len(families)} families, bounce-vs-not {bounce_right / n:.1%},"
            f" kind {kind_right / n:.1%}"
        )
    n, bounce_right, kind_right, families = corpora["sisimai"]
    assert n >= 500 and len(families) >= 30
    assert bounce_right / n >= 0.95, f"bounce-vs-not {bounce_right}/{n}; misses in {MISSES}"
    assert kind_right / n >= 0.90, f"kind {kind_right}/{n}; misses in {MISSES}"
    n, bounce_right, kind_right, _ = corpora["flufl"]
    assert bounce_right / n >= 0.95, f"flufl bounce-vs-not {bounce_right}/{n}; see {MISSES}"
    assert kind_right / n >= 0.90, f"flufl kind {kind_right}/{n}; see {MISSES}"


def table(rows) -> str:
    lines = [f"{'family':32} {'n':>4} {'bounce?':>8} {'kind':>8} {'who':>8}"]
    for family, (n, bounce_right, kind_right, who_n, who_right) in sorted(rows.items()):
        who = f"{who_right}/{who_n}" if who_n else "-"
        lines.append(f"{family:32} {n:>4} {bounce_right:>8} {kind_right:>8} {who:>8}")
    return "\n".join(lines)
