"""Campaigns: one email issue from draft to sent, before the pipeline takes it.

Its states and their one table of transitions (`states.transition`), the one scheduling entry
point (`scheduling.campaign_schedule`, at a moment or at a time in each reader's zone), the
snapshot a sender approves (`snapshot`, and `render_body` from it), who it goes to (`audience`,
which reads the campaign's `kind`), digests that compose themselves, A/B subject tests, test sends
(`sendtest`), reports and charts (and `acceptance`: accepted by the relay is not yet arrived);
`enqueue` queues its tasks.

May import newsletter.staff, newsletter.web, newsletter.mail, newsletter.content, the rules of
newsletter.subscribers and newsletter.models; never the delivery pipeline or the features above it.
"""
