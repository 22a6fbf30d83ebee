"""Campaigns: one email issue from draft to sent, before the pipeline takes it.

Its states and their one table of transitions (`states.transition`), the one scheduling entry
point (`scheduling.campaign_schedule`, at a moment or at a time in each reader's zone), the
snapshot a sender approves (`snapshot`), who it goes to (`audience`), digests that compose
themselves, A/B subject tests, test sends, reports and charts.

May import newsletter.mail, newsletter.content, newsletter.staff, the rules of
newsletter.subscribers and newsletter.models; never the delivery pipeline or the features above it
(what a campaign is, is its `kind`).
"""
