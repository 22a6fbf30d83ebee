"""The REST API (/api/v1/) and the outgoing webhooks.

Owns API keys (scopes mirroring the staff roles), idempotent POSTs, the endpoints (thin: each calls
the domain function the web pages and admin call), and the webhooks: endpoints, the events emitted
where each thing happens (`outbox.emit`), and their own delivery ledger (`webhooks`). May import
every domain package; the domain packages import only `newsletter.api.outbox` from here.
"""
