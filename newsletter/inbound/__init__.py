"""Mail that comes back: bounces, complaints, unsubscribe requests and auto-replies.

Mail comes in through receive.receive() (imap, polled by beat; the process_inbound command, an
MTA's pipe; esp, anymail's inbound webhooks); ESP events through webhooks (anymail's tracking
signal). Each becomes one effects.Event and goes through effects.apply, the one effect table, with
one soft-bounce streak whichever door each bounce came through.

May import every domain package below it (subscribers' journeys, engagement, series,
delivery, campaigns …); only views, admin, management, apps and tasks are above it.
"""
