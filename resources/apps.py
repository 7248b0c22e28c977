from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.signals import user_data_delete
        from resources.services import user_resources_delete

        user_data_delete.connect(
            user_resources_delete, dispatch_uid="resources.user_resources_delete"
        )
