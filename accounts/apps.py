from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from functools import partial

        from allauth.mfa import signals as mfa_signals

        from accounts import schema  # noqa: F401  (registers the OpenAPI auth scheme)
        from accounts.web_mfa import authenticator_change_audit
        from core.audit import Action

        # dispatch_uid: one receiver each, however often ready() runs.
        for signal, action in (
            (mfa_signals.authenticator_added, Action.MFA_ENABLED),
            (mfa_signals.authenticator_removed, Action.MFA_DISABLED),
        ):
            signal.connect(
                partial(authenticator_change_audit, action=action),
                weak=False,
                dispatch_uid=f"accounts.audit.{action}",
            )
