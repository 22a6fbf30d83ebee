"""Content: what staff write and show. Posts' Markdown and links, the brand (the charity's
look), uploaded images, calendar files for events, and the demo content `seed_demo` loads.

May import newsletter.models, newsletter.staff and the rules of newsletter.subscribers (tokens,
addresses); nothing that sends mail or serves pages.
"""
