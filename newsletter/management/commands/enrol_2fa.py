"""Set up two-factor sign-in for a staff account: prints the authenticator link and ten
recovery codes, once. Running it again replaces both (a lost phone, used-up codes)."""

from base64 import b32encode

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from newsletter.staff import audit, two_factor


class Command(BaseCommand):
    help = "Enrol a staff account in two-factor sign-in (replaces any earlier authenticator)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account is named “{username}”.")
        device, codes = two_factor.enrol(user)
        audit.record(None, "two-factor enrolment", user.get_username())
        self.stdout.write(
            f"Add this to the authenticator app of {username} (scan it as a QR code, or type "
            "the key):\n"
        )
        self.stdout.write(two_factor.qr_code(device))
        self.stdout.write(f"  {device.config_url}\n")
        self.stdout.write(f"  key: {b32encode(device.bin_key).decode()}\n\n")
        self.stdout.write("Recovery codes (each works once; keep them somewhere safe):\n")
        for code in codes:
            self.stdout.write(f"  {code}\n")
