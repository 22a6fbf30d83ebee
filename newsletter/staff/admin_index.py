"""The admin index as a comms officer reads it: our own sections first, and the engineers'
furniture (accounts, authenticators, recovery codes, the change log) together under "System",
which only superusers see (no role is granted those models), with names a person would use."""

SYSTEM_APPS = {"auth", "otp_static", "otp_totp", "auditlog"}
HUMAN_NAMES = {
    "otp_totp.totpdevice": "Authenticator apps",
    "otp_static.staticdevice": "Recovery codes",
    "auditlog.logentry": "Change log",
    "auth.user": "Staff accounts",
    "auth.group": "Roles",
}


def grouped(app_list: list[dict]) -> list[dict]:
    """Django's app list with the system apps' models gathered into one "System" section."""
    system, ours = [], []
    for app in app_list:
        if app["app_label"] not in SYSTEM_APPS:
            ours.append(app)
            continue
        for model in app["models"]:
            label = f"{app['app_label']}.{model['object_name'].lower()}"
            system.append({**model, "name": HUMAN_NAMES.get(label, model["name"])})
    if system:
        ours.append(
            {
                "name": "System",
                "app_label": "system",
                "app_url": "#system",
                "has_module_perms": True,
                "models": sorted(system, key=lambda model: model["name"]),
            }
        )
    return ours
