"""Every write through the API goes into the audit trail under its key's name."""

from newsletter.staff import audit


def record(request, action: str, target: str = "", **details) -> None:
    key = request.auth
    audit.record(
        None,
        action,
        target,
        request=request,
        actor_name=f"API key: {key.name}",
        api_key=key.pk,
        **details,
    )
