"""The README's production section as data: tests run what it says, not a copy of it."""

import re
import shlex

from tests.support import ROOT


def block(marker: str) -> str:
    """The fenced code block right after `<!-- marker -->` in README.md."""
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {re.escape(marker)} -->\s*```\w*\n(.*?)```", text, re.DOTALL)
    assert found, f"README.md has no code block marked <!-- {marker} -->"
    return found.group(1)


def environment() -> dict[str, str]:
    """The production variables as the README lists them (placeholders included)."""
    variables = {}
    for line in block("production-environment").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            name, _, value = words[0].partition("=")
            variables[name] = value
    return variables


def commands() -> list[str]:
    """The plain VM's command lines, exactly as written."""
    return [line for line in block("production-commands").splitlines() if line.strip()]
