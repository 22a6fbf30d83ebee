"""The staff roles the admin is walked as (tests/staff/test_roles.py and
test_admin_hostile_filters.py); the staff member of each role and the rows they are tried on are
the fixtures `people` and `world` in tests/staff/conftest.py."""

EDITOR, SENDER, MANAGER, NO_GROUP, SUPERUSER = (
    "editor",
    "sender",
    "subscriber manager",
    "staff in no group",
    "superuser",
)
ROLES = [EDITOR, SENDER, MANAGER, NO_GROUP, SUPERUSER]
