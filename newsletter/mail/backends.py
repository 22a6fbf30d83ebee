"""Django's SMTP backend, signing each message with DKIM (newsletter.mail.dkim) on its way out."""

import email.policy
import smtplib

from django.core.mail.backends import smtp

from newsletter.mail import dkim


class DkimSmtpBackend(smtp.EmailBackend):
    def _send(self, email_message):
        # Django's own _send, with the bytes signed between rendering and SMTP: the signature must
        # cover exactly what the server receives.
        if not email_message.recipients():
            return False
        from_email = self.prep_address(email_message.from_email)
        recipients = [self.prep_address(addr) for addr in email_message.recipients()]
        message = email_message.message(policy=email.policy.SMTP)
        try:
            self.connection.sendmail(from_email, recipients, dkim.sign(message.as_bytes()))
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
