"""Staff: who may do what in admin, and the record of what they did. Permissions (`permissions`:
codename constants and the one `require()`), the audit trail, two-factor sign-in, and the admin
site.

May import newsletter.web (the client IP an audit entry records), newsletter.mail,
newsletter.content, the rules of newsletter.subscribers and newsletter.models. (admin_site imports
two_factor lazily: INSTALLED_APPS loads it before any model.)
"""
