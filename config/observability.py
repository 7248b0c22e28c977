"""Logging, Sentry and metrics settings, shared by config/settings.py and config/serve.py.

Nothing here imports Django's settings, so the web server's main process can use
it before the application is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_str

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Request body fields and headers Sentry must drop on top of its own list
# (password, token, authorization, cookie, session, csrf...).
SENTRY_EXTRA_DENYLIST = [
    "access",
    "refresh",
    "id_token",
    "old_password",
    "new_password",
    "new_password1",
    "new_password2",
    "password1",
    "password2",
    "share_token",
    "key",
    "uid",
]


def log_format_from_env(*, is_production: bool | None = None) -> str:
    """LOG_FORMAT, or json in production and text elsewhere."""
    if is_production is None:
        is_production = env_bool("IS_PRODUCTION", default=False)
    default = "json" if is_production else "text"
    value = env_str("LOG_FORMAT", default).lower() or default
    if value not in LOG_FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {value!r}")
    return value


def _formatter(log_format: str) -> dict[str, Any]:
    if log_format == "json":
        return {"()": "core.logs.JsonFormatter"}
    return {"format": TEXT_FORMAT}


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING dict: every record through one console handler, with request_id."""
    json_lines = log_format == "json"
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "core.request_id.RequestIdFilter"},
            "redact_url_secrets": {"()": "core.logs.RedactUrlSecretsFilter"},
        },
        "formatters": {"default": _formatter(log_format)},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                # JSON lines on stdout, as Render and most collectors expect; local
                # text keeps stderr, as before.
                "stream": "ext://sys.stdout" if json_lines else "ext://sys.stderr",
            }
        },
        "loggers": {
            # Django's own console handler would print each line a second time,
            # without request_id: its records go through the root handler only.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.request": {"filters": ["redact_url_secrets"]},
        },
        "root": {"handlers": ["console"], "level": level},
    }
    # Access lines (config/access_log.py) go to stdout whatever LOG_LEVEL says.
    access_handler = "console"
    if not json_lines:
        config["handlers"]["access"] = {
            **config["handlers"]["console"],
            "stream": "ext://sys.stdout",
        }
        access_handler = "access"
    config["loggers"]["web.access"] = {
        "handlers": [access_handler],
        "level": "INFO",
        "propagate": False,
    }
    if json_lines:
        # runserver's access lines, which Django prints as text otherwise.
        config["loggers"]["django.server"] = {
            "handlers": ["console"],
            "propagate": False,
        }
    return config


def traces_sample_rate_from_env() -> float:
    raw = env_str("SENTRY_TRACES_SAMPLE_RATE", "0") or "0"
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ImproperlyConfigured(
            f"SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1, not {raw!r}"
        )
    return rate


def sentry_init(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float
) -> None:
    """Reports unhandled errors to Sentry without personal data or credentials."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,  # no cookies, Authorization, user or IP
        # Request bodies here are mostly credentials (sign-in, refresh, password
        # change), and locals hold raw tokens in authentication code: neither is sent.
        max_request_body_size="never",
        include_local_variables=False,
        event_scrubber=EventScrubber(
            denylist=[*DEFAULT_DENYLIST, *SENTRY_EXTRA_DENYLIST], recursive=True
        ),
        before_send=sentry_before_send,
    )


def sentry_before_send(event: Event, hint: Hint) -> Event:
    """Drops the query string and redacts share tokens and reset keys from the URL."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("query_string", None)
        url = request.get("url")
        if isinstance(url, str):
            request["url"] = _redacted_url(url)
    return event


def _redacted_url(url: str) -> str:
    from django.urls import get_script_prefix

    from core.logs import redact, url_secrets

    parts = urlsplit(url)
    prefix = get_script_prefix().rstrip("/")
    path_info = (
        parts.path[len(prefix) :] if parts.path.startswith(prefix) else parts.path
    )
    path = redact(parts.path, url_secrets(path_info or "/"))
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
