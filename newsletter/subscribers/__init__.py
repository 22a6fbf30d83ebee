"""Subscribers: who reads us and what they agreed to.

Two levels. Its rules, which every other domain asks: `policy` (may we mail this reader, may we
track them, suppress an address, the suppression list), `addresses` (validated, normalised,
hashed), `tokens` (signing and verifying every link and token), `timezones`, `csvfiles`. And its
journeys: `signups` (join and confirm: sends the confirmation, starts the welcome series),
`subscriptions` (preferences, unsubscribe, erasure, the right of access), `imports` (CSV files),
`retention` (what is kept only for a while), with `enqueue` (their tasks, after commit).

The rules may import newsletter.models only (policy also addresses). `signups` sits above series
and delivery; `subscriptions`, `imports` and `retention` above engagement, just below inbound
(the import contract in pyproject.toml lists every layer).
"""
