"""Staff: who may do what in admin, and the record of what they did. Permissions (codename
constants and the one `require()`), the audit trail, two-factor sign-in, and the admin site.

May import newsletter.models only (admin_site imports two_factor lazily: INSTALLED_APPS loads it
before any model).
"""
