"""Mail that comes back: bounces, complaints, unsubscribe requests and auto-replies.

Mail comes in through receive.receive() (imap, polled by beat; the process_inbound command, an
MTA's pipe; esp, anymail's inbound webhooks); ESP events through webhooks (anymail's tracking
signal). Each becomes one effects.Event and goes through effects.apply, the one effect table, with
one soft-bounce streak whichever door each bounce came through. A request by mail acts only on
proof (unsubscribe_proof: a token, or our receiving server's DMARC pass); an ESP webhook is
believed only after anymail's checks and Engage's own (webhook_guard).

May import every domain package below it (subscribers' journeys, engagement, series,
delivery, campaigns …); only views, admin, management, apps and tasks are above it.
"""
