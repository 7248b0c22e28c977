from django.apps import AppConfig


class SettingsAppConfig(AppConfig):
    name = "settings_app"
    verbose_name = "User settings"
    default_auto_field = "django.db.models.BigAutoField"
