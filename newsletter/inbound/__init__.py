"""Mail that comes back: bounces, complaints, unsubscribe requests and auto-replies.

receive.receive() is the one entry point; imap (polled by beat), the process_inbound command (an
MTA's pipe) and esp (anymail's inbound webhooks) are the ways in.
"""
