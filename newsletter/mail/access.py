"""Reader preferences for access (issue 25): plain text only, larger text, no images.

Chosen at signup and in the preference centre, stored on the subscriber, and applied here to a
message's parts after they are personalised, so every email Engage sends honours them: campaigns,
digests, series steps and reminders (rendering.personalise, and each ESP batch keeps readers of
one choice together), and transactional emails (emails.make_message).
"""

import re

# (field on Subscriber, what a reader sees)
CHOICES = [
    ("plain_text_only", "Plain text only: no colours, pictures or layout"),
    ("larger_text", "Larger text and larger buttons"),
    ("no_images", "No images"),
]
FIELDS = tuple(name for name, _ in CHOICES)

# After the inlined styles, so !important wins over them: body text of at least 20 px (a post's
# superscript, subscript and code too), headings larger, every link that stands alone at least
# 48 px high. tests/web/test_larger_text_browser.py measures it in Chromium.
LARGER_TEXT = """<style>
  body, .card, p, li, td, .meta, .refs, .footer, .masthead { font-size: 20px !important; line-height: 1.6 !important; }
  sup, sub, small, code, pre, th { font-size: 20px !important; }
  h1 { font-size: 30px !important; } h2 { font-size: 26px !important; } h3 { font-size: 23px !important; } h4 { font-size: 22px !important; }
  .button, .action, h3 a, .footer a, .masthead a, .refs a { display: inline-block !important; padding-top: 14px !important; padding-bottom: 14px !important; line-height: 20px !important; min-width: 48px !important; }
  .button { font-size: 20px !important; }
</style>"""  # noqa: E501 - CSS, one rule a line

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT = re.compile(r'\balt="([^"]*)"', re.IGNORECASE)


def choices_of(reader) -> list[str]:
    """The names of the preferences a subscriber chose (or a signup's stored list)."""
    if isinstance(reader, dict):
        return [name for name in FIELDS if reader.get(name)]
    return [name for name in FIELDS if getattr(reader, name, False)]


def key(reader) -> tuple[bool, ...]:
    """Readers with the same key get the same message around their personal values."""
    chosen = choices_of(reader)
    return tuple(name in chosen for name in FIELDS)


def adapt(html: str, text: str, chosen: list[str]) -> tuple[str, str]:
    """The (HTML, text) parts for a reader with these preferences; HTML "" means text alone."""
    if "plain_text_only" in chosen:
        return "", text
    if "no_images" in chosen:
        html = _IMG.sub(_image_as_words, html)
    if "larger_text" in chosen:
        html = html.replace("</head>", LARGER_TEXT + "</head>", 1)
    return html, text


def _image_as_words(match: re.Match) -> str:
    # An image's description stays, in words; a decorative image (alt="") goes.
    alt = _ALT.search(match.group(0))
    return f"<span>[{alt.group(1)}]</span>" if alt and alt.group(1).strip() else ""
