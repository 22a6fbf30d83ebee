"""Mail: turning an approved campaign or a transactional email into bytes and handing them over.

Rendering bodies (`rendering`, the hot path), the one message builder (`messages`), transactional
emails as template triples (`emails`), DKIM, the global send rate, VERP envelope addresses and
Django mail backends (the SMTP backend that signs, the Postmark batch backend, the development
outbox).

May import newsletter.content, newsletter.staff, the rules of newsletter.subscribers and
newsletter.models; nothing about campaigns' lifecycle, delivery or features.
"""
