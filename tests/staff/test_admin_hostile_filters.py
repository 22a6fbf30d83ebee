"""Every admin list, every filter it offers and every autocomplete, walked as each role with
hostile values: nothing answers 5xx. A bad value in the address gets a 400 (or a list with nothing
in it), and a role that may not see a list gets 403 whatever it asks.

The filter parameters are read from the admin itself (each changelist's filter specs, its search,
ordering, page and date hierarchy) plus the usual lookups on every field of the model, so a new
list or a new filter is walked without anyone adding it here.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.staff.roles_world import EDITOR, MANAGER, SENDER, SUPERUSER
from tests.staff.test_roles import MODELS

pytestmark = pytest.mark.django_db

ROLES = [EDITOR, SENDER, MANAGER, SUPERUSER]

# Raw query-string values, already percent-encoded as an attacker would send them.
HOSTILE = {
    "NUL": "a%00b",
    "year 99999": "99999",
    "negative": "-1",
    "huge int": "9" * 40,
    "SQL": "%27%20OR%201%3D1--",
    "10 KB": "x" * 10_240,
    "bad UTF-8": "%ff%fe%c3%28",
}
# The lookups derived from every field get the values most likely to break a query.
FIELD_HOSTILE = {
    what: HOSTILE[what] for what in ("NUL", "year 99999", "negative", "huge int", "bad UTF-8")
}
LOOKUPS = ["__exact", "__year", "__month", "__day", "__gte", "__isnull"]


def _label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def filter_parameters(model, model_admin, user, seen: set | None) -> dict[str, dict[str, str]]:
    """What the changelist offers `user` (its filters' parameters, search, ordering, facets,
    date hierarchy), each with every hostile value. With `seen` (the superuser's walk), also the
    page parameters and the usual lookups on the model's own fields, with the values most likely
    to break them, once per kind of field and lookup (`seen`: those already walked): Django
    answers those alike on every list and for every role."""
    request = RequestFactory().get(_changelist_url(model))
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    names = {"q", "o", "_facets"}
    for spec in changelist.filter_specs:
        names.update(spec.expected_parameters())
    if model_admin.date_hierarchy:
        names.update(f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day"))
    walk = {name: HOSTILE for name in sorted(names)}
    if seen is None:
        return walk
    for name in ("p", "all"):
        if name not in seen:
            seen.add(name)
            walk[name] = HOSTILE
    for field in model._meta.get_fields():
        if not field.concrete or field.many_to_many:
            continue
        for lookup in LOOKUPS:
            kind = (field.get_internal_type(), lookup)
            if kind not in seen and field.name + lookup not in walk:
                seen.add(kind)
                walk[field.name + lookup] = FIELD_HOSTILE
    return walk


def autocomplete_queries() -> list[str]:
    """The query strings of every autocomplete a form in the admin uses."""
    queries = []
    for model, model_admin in admin.site._registry.items():
        owners = [(model, model_admin)] + [(inline.model, inline) for inline in model_admin.inlines]
        for owner, holder in owners:
            for field_name in holder.autocomplete_fields:
                queries.append(
                    f"app_label={owner._meta.app_label}&model_name={owner._meta.model_name}"
                    f"&field_name={field_name}"
                )
    # Made-up owners and fields: the endpoint must refuse those too, never fail.
    queries.append("app_label=newsletter&model_name=subscriber&field_name=%00")
    queries.append("app_label=%00&model_name=x&field_name=y")
    return queries


def get(client: Client, url: str):
    """One request in a savepoint rolled back after it: a database error in one request must not
    leave the test's transaction aborted for the next."""
    savepoint = transaction.savepoint()
    try:
        return client.get(url)
    finally:
        transaction.savepoint_rollback(savepoint)


def sign_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def may_view(label: str, role: str) -> bool:
    model = MODELS[label]
    return role in model["view"] | model["change"]


# A few thousand requests as a superuser: about 2 minutes on a quiet machine, 4 on a busy one.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("role", ROLES)
def test_no_admin_list_filter_answers_a_hostile_value_with_a_server_error(role, world, people):
    client = sign_in(people[role])
    failures, walked = [], 0
    seen = set() if role == SUPERUSER else None
    for model, model_admin in admin.site._registry.items():
        label, url = _label(model), _changelist_url(model)
        if not may_view(label, role):
            response = get(client, url + "?status__exact=%00")
            if response.status_code != 403:
                failures.append(f"{label}: {response.status_code}, not 403, for {role}")
            continue
        for name, values in filter_parameters(model, model_admin, people[role], seen).items():
            for what, value in values.items():
                response = get(client, f"{url}?{name}={value}")
                walked += 1
                if response.status_code >= 500:
                    failures.append(f"{label} ?{name}= {what}: {response.status_code}")
    assert not failures, f"{len(failures)} of the walk went wrong:\n" + "\n".join(failures[:60])
    assert walked > 100, walked  # the walk did walk


@pytest.mark.parametrize("role", ROLES)
def test_no_autocomplete_answers_a_hostile_term_with_a_server_error(role, world, people):
    client = sign_in(people[role])
    url = reverse("admin:autocomplete")
    failures = []
    queries = autocomplete_queries()
    assert len(queries) > 2, "no autocomplete found in the admin: the walk would walk nothing"
    for query in queries:
        for what, value in HOSTILE.items():
            for extra in (f"&term={value}", f"&term=a&page={value}"):
                response = get(client, f"{url}?{query}{extra}")
                if response.status_code >= 500:
                    failures.append(f"{query}{extra[:20]} {what}: {response.status_code}")
    assert not failures, f"{len(failures)} of the walk went wrong:\n" + "\n".join(failures[:60])


def test_a_nul_byte_in_a_list_filter_is_a_clear_400(world, people):
    client = sign_in(people[SUPERUSER])
    response = client.get(_changelist_url(User) + "?username__exact=%00")
    assert response.status_code == 400
    response = client.get(reverse("admin:newsletter_campaign_changelist") + "?status__exact=%00")
    assert response.status_code == 400


def test_a_year_past_9999_is_a_clear_400_and_a_fair_one_still_lists(world, people):
    client = sign_in(people[SUPERUSER])
    url = reverse("admin:newsletter_subscriber_changelist")
    assert client.get(url + "?created_at__year=99999").status_code == 400
    response = client.get(url + "?created_at__year=2026")
    assert response.status_code == 200
