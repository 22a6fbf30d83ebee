"""The accessibility preflight (issue 25): what in a campaign would lock disabled readers out,
found before it goes, each finding with where to fix it and a short why. Staff can still send:
the preview shows the findings and the confirmation step says how many remain.

It reads what would go out (newsletter.campaigns.snapshot.frozen): the intro, each post's email
fragment, and the brand's colours. A series step is read as it stands (check_step), on the
series page in admin.
"""

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from django.urls import reverse

from newsletter.campaigns import snapshot
from newsletter.campaigns.snapshot import frozen
from newsletter.content import brand
from newsletter.content.posts import render_markdown
from newsletter.models import Campaign, Series

# The white card an email's content and its donate button sit on.
CARD = "#ffffff"
VAGUE_LINKS = {"click here", "here", "read more", "more", "link", "this link", "click", "go"}
_FILENAME = re.compile(
    r"^[\w\-. ]+\.(png|jpe?g|gif|webp|svg|bmp|tiff?)$|^(img|image|dsc|photo|pic)[_\- ]?\d+$", re.I
)
_WORD = re.compile(r"\w{2,}")
_WORDS_ALONE = {"image", "photo", "picture", "graphic", "logo", "img"}

# Why each finding matters, in a sentence staff can act on.
WHY = {
    "TEXT": "Text needs 4.5:1 to be read with low vision.",
    "CARD": (
        "The donate button and the brand bar need 3:1 to be seen at all with low vision: "
        "pick a darker colour."
    ),
    "NO_ALT": "A screen reader says nothing, or reads the file name: describe the image.",
    "BAD_ALT": "That is a file name or a bare word, not a description of what the image shows.",
    "VAGUE": (
        "Screen reader users often hear links alone, out of their sentence: "
        "say where the link goes."
    ),
    "SKIPPED": "Screen reader users move by headings; a skipped level looks like missing content.",
    "ALONE": (
        "With images off, with “no images” chosen, or in a screen reader, an image with no words "
        "beside it may be all there is: say in the text what the image says."
    ),
    "CAPITALS": (
        "Capitals are slower to read, and some screen readers spell them out letter by letter."
    ),
}


@dataclass(frozen=True)
class Finding:
    where: str  # what staff would call it: "Intro", "Post “…”", "Brand"
    url: str  # the admin page (and field) to fix it
    what: str
    why: str


def check(campaign: Campaign) -> list[Finding]:
    approved = frozen(campaign)
    intro_url = reverse("admin:newsletter_campaign_change", args=[campaign.pk]) + "#id_intro"
    posts = [post for section in approved.sections for post in section["posts"]]
    found = _content("Intro", intro_url, approved.intro, posts, where_post="Post “{}”")
    return found + _brand(brand.frozen_brand(approved.brand))


def check_series(series: Series) -> list[Finding]:
    """Each step of a series as it stands (activating the series freezes it as it is), and the
    brand now (that of the moment it is activated)."""
    steps = list(series.steps.prefetch_related("posts"))
    # A step's text field is in the series page's inline: prefix "steps", in the steps' order.
    series_url = reverse("admin:newsletter_series_change", args=[series.pk])
    found = []
    for index, step in enumerate(steps):
        label = f"Step {step.position} “{step.subject}”"
        posts = [snapshot.post_fragments(post) for post in step.posts.all()]
        body_url = f"{series_url}#id_steps-{index}-body"
        found += _content(label, body_url, step.body, posts, where_post=label + ", post “{}”")
    return found + _brand(brand.frozen_brand(brand.current()))


def _content(where: str, url: str, markdown: str, posts: list[dict], *, where_post: str):
    """Findings in the text an email opens with (Markdown, under the email's h1) and in its
    posts' email fragments (each under an h2)."""
    found = [
        Finding(where, url, what, why) for what, why in _html(render_markdown(markdown), top=1)
    ]
    for post in posts:
        post_url = reverse("admin:newsletter_post_change", args=[post["post_id"]])
        post_where = where_post.format(post["title"])
        found += [
            Finding(post_where, post_url, what, why) for what, why in _html(post["html"], top=2)
        ]
    return found


def _brand(look: dict) -> list[Finding]:
    found = []
    brand_url = reverse("admin:newsletter_brand_changelist")
    text_ratio = brand.contrast(look["colour"], look["text_colour"])
    if text_ratio < 4.5:
        what = f"The brand colour {look['colour']} has {text_ratio:.1f}:1 with its text."
        found.append(Finding("Brand", brand_url, what, WHY["TEXT"]))
    card_ratio = brand.contrast(look["colour"], CARD)
    if card_ratio < 3:
        what = f"The brand colour {look['colour']} has {card_ratio:.1f}:1 with the white card."
        found.append(Finding("Brand", brand_url, what, WHY["CARD"]))
    return found


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images, self.links, self.headings, self.blocks = [], [], [], []
        # The text between images: the text before image k is gaps[k], after it gaps[k + 1].
        self.gaps = [""]
        self._link = None
        self._block = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
            self.gaps.append("")
        elif tag == "a":
            self._link = {"label": attrs.get("aria-label") or "", "text": ""}
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag in ("p", "li"):
            self._block = []

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links.append(self._link)
            self._link = None
        elif tag in ("p", "li") and self._block is not None:
            self.blocks.append("".join(self._block))
            self._block = None

    def handle_data(self, data):
        self.gaps[-1] += data
        if self._link is not None:
            self._link["text"] += data
        if self._block is not None:
            self._block.append(data)


def _html(html: str, *, top: int) -> list[tuple[str, str]]:
    """(what, why) of each problem in an HTML fragment whose headings sit under an h`top`."""
    reader = _Reader()
    reader.feed(str(html))
    found = []
    for index, image in enumerate(reader.images):
        alt = (image.get("alt") or "").strip()
        name = image.get("src", "").rsplit("/", 1)[-1]
        if not _WORD.search(reader.gaps[index] + reader.gaps[index + 1]):
            found.append((f"An image has no text around it ({name}).", WHY["ALONE"]))
        if not alt:
            found.append(
                (
                    f"An image has no alt text ({name}).",
                    WHY["NO_ALT"],
                )
            )
        elif _FILENAME.match(alt) or alt.lower() in _WORDS_ALONE or alt == name:
            found.append(
                (
                    f"An image's alt text is “{alt}”.",
                    WHY["BAD_ALT"],
                )
            )
    for link in reader.links:
        text = " ".join(link["text"].split()).lower().strip(".:!")
        label = " ".join(link["label"].split()).lower()
        if text in VAGUE_LINKS and (not label or label.strip(".:!") == text):
            found.append(
                (
                    f"A link says only “{link['text'].strip()}”.",
                    WHY["VAGUE"],
                )
            )
    level = top
    for heading in reader.headings:
        if heading > level + 1:
            found.append(
                (
                    f"A heading jumps from level {level} to {heading}.",
                    WHY["SKIPPED"],
                )
            )
        level = heading
    for block in reader.blocks:
        letters = [c for c in block if c.isalpha()]
        if len(letters) >= 12 and len(block.split()) >= 3 and all(c.isupper() for c in letters):
            found.append(
                (
                    f"A paragraph is in capitals: “{block.strip()[:40]}…”.",
                    WHY["CAPITALS"],
                )
            )
    return found
