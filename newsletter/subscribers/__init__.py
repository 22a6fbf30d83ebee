"""Subscribers: who reads us and what they agreed to.

Two levels. Its rules, which every other domain asks: `policy` (may we mail this reader, may we
track them, suppress an address, the suppression list), `addresses` (validated, normalised,
hashed), `tokens` (signing and verifying every link and token), `timezones`, `csvfiles`. And its
journeys, which sit near the top because they send mail and start series: `signups` (join and
confirm), `subscriptions` (preferences, unsubscribe, erasure, the right of access), `imports`
(CSV files), `retention` (what is kept only for a while), `enqueue` (their tasks, after commit).

The rules may import only newsletter.models and newsletter.staff; the journeys may import every
domain package below newsletter.inbound (see the import contract in pyproject.toml).
"""
