"""Build tests/inbound/corpus/sisimai/ from two git snapshots of sisimai's public repositories.

    python tests/inbound/corpus/build_sisimai.py /path/to/rb-sisimai.git

Reads, at the snapshot's HEAD, every public engine test (test/public/lhost-*.rb, arf.rb,
rfc3464.rb, rfc3834.rb): each lists, per message number, the [status, reply code, reason,
hardbounce] sisimai expects per recipient. Copies the matching message
set-of-emails/maildir/bsd/<engine>-NN.eml (the copy of sisimai/set-of-emails that repository
ships, so messages and expectations come from one commit), skipping the two messages sisimai's
own test skips (lhost-postfix-49, -50) and any over 1 MiB, and writes expected.json.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

SKIPPED_BY_SISIMAI = {"lhost-postfix-49.eml", "lhost-postfix-50.eml"}
ENTRY = re.compile(r"\s*'(\d+)'\s*=>\s*\[(.*)$")


def git(repo: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, check=True).stdout


def expectations(repo: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for path in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "test/public").decode().split():
        name = path.rsplit("/", 1)[-1]
        if name.endswith(("-test.rb", "-code.rb")):
            continue
        if not (name.startswith("lhost-") or name in ("arf.rb", "rfc3464.rb", "rfc3834.rb")):
            continue
        prefix, index = name[:-3], None
        for line in git(repo, "show", f"HEAD:{path}").decode().splitlines():
            entry = ENTRY.match(line)
            if entry:
                index, rest = int(entry.group(1)), entry.group(2)
            elif index is not None and line.strip().startswith("["):
                rest = line.strip()
            else:
                if line.strip().startswith("}"):
                    index = None
                continue
            for row in re.findall(r"\[([^\[\]]*)\]", rest):
                values = [value.strip().strip("'\"") for value in row.split(",")]
                found.setdefault(f"{prefix}-{index:02d}.eml", []).append(
                    {
                        "status": values[0],
                        "replycode": values[1],
                        "reason": values[2],
                        "hardbounce": values[3] == "true",
                        **({"feedbacktype": values[4]} if len(values) > 4 else {}),
                    }
                )
    return found


def main(repo: str) -> None:
    dest = Path(__file__).parent / "sisimai"
    (dest / "messages").mkdir(parents=True, exist_ok=True)
    kept = {}
    for name, results in sorted(expectations(repo).items()):
        if name in SKIPPED_BY_SISIMAI:
            continue
        data = git(repo, "show", f"HEAD:set-of-emails/maildir/bsd/{name}")
        if not data or len(data) > 1 << 20:
            continue
        (dest / "messages" / name).write_bytes(data)
        kept[name] = results
    (dest / "expected.json").write_text(json.dumps(kept, indent=1, sort_keys=True))
    print(len(kept), "messages")


if __name__ == "__main__":
    main(sys.argv[1])
