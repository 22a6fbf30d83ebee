"""Engagement: what readers do with what we send. RSVPs to events (answers, capacity, the
waitlist, their emails), "count me in" interest, attendance lists, the day-before event reminders
(system campaigns of kind event_reminder), and recording opens and clicks; `enqueue` queues its
tasks.

May import newsletter.subscribers.signups (a visitor's "join" on an RSVP), series, delivery,
campaigns and everything below them.
"""
