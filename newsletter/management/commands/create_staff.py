"""The first staff account of a deployment, ready to sign in: a superuser with a random password,
an authenticator (TOTP) enrolled and ten recovery codes, all printed once.

    python manage.py create_staff USERNAME --email ADDRESS

Scan the QR code (or type the key) into an authenticator app, then sign in at SITE_URL/admin/
with the printed password and the app's code. Further accounts are made in the admin and
enrolled with `manage.py enrol_2fa USERNAME`.
"""

import secrets
from base64 import b32encode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from newsletter.staff import audit, two_factor


class Command(BaseCommand):
    help = "Create a superuser with two-factor sign-in enrolled; prints what they need, once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", required=True, help="The person's own address.")

    def handle(self, *args, username, email, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(
                f"An account named “{username}” exists already: to give it a new authenticator "
                f"and recovery codes, run `manage.py enrol_2fa {username}`."
            )
        password = secrets.token_urlsafe(15)
        with transaction.atomic():
            user = User.objects.create_superuser(username=username, email=email, password=password)
            device, codes = two_factor.enrol(user)
            audit.record(None, "first staff account created", username)

        key = b32encode(device.bin_key).decode()
        write = self.stdout.write
        write(f"Created the superuser “{username}”.\n")
        write(f"  password: {password}\n\n")
        write("1. Scan this QR code with an authenticator app (or type the key):\n")
        write(two_factor.qr_code(device))
        write(f"  {device.config_url}\n")
        write(f"  key: {key}\n\n")
        write(
            "2. Keep these recovery codes somewhere safe; each one signs in once without the app:\n"
        )
        for code in codes:
            write(f"  {code}\n")
        write(
            f"\n3. Sign in at {settings.SITE_URL}/admin/ with the password and the app's 6-digit "
            "code, then change the password (top right, “Change password”).\n"
            "4. Add the rest of the team in the admin (Users, with a role group each) and enrol "
            "each one: `python manage.py enrol_2fa USERNAME`.\n"
        )
