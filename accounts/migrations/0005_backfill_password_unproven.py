import uuid

from django.db import migrations


def forward(apps, schema_editor):
    """Marks passwords still the ones chosen at a password sign-up (never verified then)."""
    User = apps.get_model("accounts", "User")
    ActivityLog = apps.get_model("core", "ActivityLog")
    about_users = ActivityLog.objects.filter(target_type="user")
    signed_up = about_users.filter(
        action="user.signed_up", metadata__method="password"
    ).values_list("target_id", flat=True)
    set_since = about_users.filter(
        action__in=["password.changed", "password.reset"]
    ).values_list("target_id", flat=True)
    ids = [uuid.UUID(pk) for pk in set(signed_up) - set(set_since) if _is_uuid(pk)]
    for start in range(0, len(ids), 500):
        User.objects.filter(pk__in=ids[start : start + 500]).exclude(
            password__startswith="!"
        ).update(password_unproven=True)


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_password_unproven_and_admins_notified_at"),
        ("core", "0002_activitylog"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
