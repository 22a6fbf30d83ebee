"""Real bounces from many MTAs, read as the inbound door reads them, scored against what the
collections' own test suites expect.

Two collections (see tests/inbound/corpus/ORIGIN.md): sisimai's set-of-emails, with the reason,
status and hard/soft flag sisimai's test suite expects per recipient; and GNU Mailman's flufl.bounce
test messages, with the failed addresses and permanent/temporary flag its tests expect. Every miss
goes to test-artifacts/bounce-misses-<corpus>.txt; the per-family table is printed (pytest -s).
"""

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsletter.inbound import bounces

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


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


def sisimai_cases():
    sisimai = sisimai_corpus()
    for name, results in sorted(json.loads((sisimai / "expected.json").read_text()).items()):
        family = name.rsplit("-", 1)[0].removeprefix("lhost-")
        yield family, sisimai / "messages" / name, expected_sisimai(results)


def flufl_cases():
    flufl = json.loads((CORPUS / "flufl" / "expected.json").read_text())
    for name, want in sorted(flufl.items()):
        kind = SOFT if want["temporary"] else HARD
        expected = Expected(kind, "", want["addresses"], gave_up=not want["temporary"])
        yield name.rsplit("_", 1)[0], CORPUS / "flufl" / "messages" / name, expected


def is_bounce(kind: str) -> bool:
    return kind not in NOT_A_BOUNCE


@dataclass
class Score:
    n: int = 0
    bounce_right: int = 0  # bounce versus not-bounce
    kind_right: int = 0  # the exact kind (and flufl's expected addresses among the failures)
    who_n: int = 0  # permanent failures, where who failed decides suppression
    who_right: int = 0


def measure(cases, misses_file: Path) -> tuple[Score, dict[str, Score]]:
    """Every message read exactly as the inbound door reads it (bounces.parse, then
    bounces.classify with no envelope); every miss written to `misses_file`."""
    total, families, misses = Score(), defaultdict(Score), []
    for family, path, want in cases:
        got = bounces.classify(bounces.parse(path.read_bytes()))
        bounce_right = is_bounce(got.kind) == is_bounce(want.kind)
        kind_right = got.kind == want.kind or (want.gave_up and got.kind in (HARD, SOFT))
        if want.addresses:
            kind_right = kind_right and set(want.addresses) <= {f.address for f in got.failures}
        scored_who = want.kind == HARD and bool(want.who)
        who_right = got.who_failed == want.who if scored_who else True
        for score in (total, families[family]):
            score.n += 1
            score.bounce_right += bounce_right
            score.kind_right += kind_right
            score.who_n += scored_who
            score.who_right += scored_who and who_right
        if not (bounce_right and kind_right and who_right):
            misses.append(
                f"{path.name}: expected {want.kind}/{want.who or '-'} {' '.join(want.addresses)};"
                f" got {got.kind}/{got.who_failed or '-'}"
                f" {' '.join(f.address for f in got.failures)} [{got.reason[:160]}]"
            )
    misses_file.parent.mkdir(exist_ok=True)
    misses_file.write_text("\n".join(misses) + "\n")
    print(table(families))
    print(
        f"{total.n} messages, {len(families)} families: bounce-vs-not"
        f" {total.bounce_right / total.n:.1%}, kind {total.kind_right / total.n:.1%}, who failed"
        f" {total.who_right}/{total.who_n}; misses in {misses_file}"
    )
    return total, families


@pytest.mark.sisimai_corpus
def test_sisimai_bounces_are_read_right():
    total, families = measure(sisimai_cases(), ARTIFACTS / "bounce-misses-sisimai.txt")

    assert total.n >= 500 and len(families) >= 30
    assert total.bounce_right / total.n >= 0.95
    assert total.kind_right / total.n >= 0.90


def test_flufl_bounces_are_read_right():
    total, _ = measure(flufl_cases(), ARTIFACTS / "bounce-misses-flufl.txt")

    assert total.n >= 100
    assert total.bounce_right / total.n >= 0.95
    assert total.kind_right / total.n >= 0.90


def table(families: dict[str, Score]) -> str:
    lines = [f"{'family':24} {'n':>4} {'bounce?':>8} {'kind':>8} {'who':>8}"]
    for family, score in sorted(families.items()):
        who = f"{score.who_right}/{score.who_n}" if score.who_n else "-"
        lines.append(
            f"{family:24} {score.n:>4} {score.bounce_right:>8} {score.kind_right:>8} {who:>8}"
        )
    return "\n".join(lines)
