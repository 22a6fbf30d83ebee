"""Mail: turning an approved snapshot or a transactional email into bytes and handing them over.

Rendering bodies from a snapshot (`rendering`, the hot path), tracked links and the open pixel
(`tracked_links`), the one message builder (`messages`), transactional emails as template triples
(`emails`), VERP envelope addresses (`verp`), DKIM, the global send rate, and Django mail backends
(the SMTP backend that signs, the Postmark batch backend, the development outbox), and whether
the From domain's DNS is what mailbox providers require (`sender_auth`).

May import newsletter.content, the rules of newsletter.subscribers and newsletter.models; nothing
about campaigns' lifecycle, delivery, features or staff.
"""
