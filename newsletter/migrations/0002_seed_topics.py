from django.db import migrations

TOPICS = [
    ("news", "News", "What the charity is doing and what is new in research and care."),
    ("events", "Events", "Talks, support meetings, walks and fundraisers near you and online."),
    ("education", "Education", "Plain-language articles on symptoms, diagnosis and living well."),
    ("get-involved", "Get involved", "Volunteering, fundraising and campaigning."),
]


def seed(apps, schema_editor):
    Topic = apps.get_model("newsletter", "Topic")
    for position, (slug, name, description) in enumerate(TOPICS):
        Topic.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
