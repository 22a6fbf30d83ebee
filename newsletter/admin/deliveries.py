"""Admin for the delivery ledger and campaign progress. (Placeholder until built.)"""


def progress_html(campaign) -> str:
    """A campaign's progress at a glance, for the campaign admin's list and page."""
    return ""
