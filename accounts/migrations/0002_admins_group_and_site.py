from urllib.parse import urlsplit

from django.conf import settings
from django.db import migrations


def forward(apps, schema_editor):
    db = schema_editor.connection.alias
    apps.get_model("auth", "Group").objects.using(db).get_or_create(name="admins")
    Site = apps.get_model("sites", "Site")
    host = urlsplit(settings.BASE_URL).netloc or "localhost:8000"
    Site.objects.using(db).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": host, "name": "Gatehouse"}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
