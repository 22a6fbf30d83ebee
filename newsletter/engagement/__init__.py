"""Engagement: what readers do with what we send. RSVPs to events (answers, capacity, the
waitlist, their emails), "count me in" interest, attendance lists, the day-before event reminders,
and open and click tracking.

May import newsletter.delivery and everything below it (campaigns, mail, content, the rules of
newsletter.subscribers, staff, models); its tasks are queued by `enqueue`.
"""
