"""Web: the public site's shared parts. The Join Us page and its embed (rendered once per set of
topics), the join and preference forms, the visitor's client IP (trusted proxies), the middleware
(a database outage answered as 503; the audit context) and the template context processor.

May import every domain package (it sits just below views); views, admin and tasks are above it.
"""
