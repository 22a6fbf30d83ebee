"""Content: what staff write and show. Posts' Markdown, excerpts and links (`posts`), the brand
(the charity's look and the organisation context of every page and email), uploaded images,
calendar files for events, and the demo content `seed_demo` loads.

May import the rules of newsletter.subscribers (tokens, addresses) and newsletter.models; nothing
that sends mail, serves pages or runs campaigns.
"""
