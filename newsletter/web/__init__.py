"""Web: the public site's shared parts. The Join Us page and its embed (rendered once per set of
topics), the join and preference forms, the visitor's client IP (trusted proxies), the middleware
(a database outage answered as 503) and the template context processor.

May import newsletter.mail, newsletter.content, the rules of newsletter.subscribers and
newsletter.models; the views above it use it.
"""
