"""gunicorn settings for `web:` in the Procfile; each can be overridden by env."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request may take this long; slow clients and uploads are bounded by it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a deploy or scale-down), in-flight requests get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
# Recycle workers now and then, so a slow leak never takes the service down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"

# Access and error logs as JSON lines in production (IS_PRODUCTION=true or
# LOG_FORMAT=json), each with the request id that X-Request-ID answers.
from config.observability import gunicorn_logconfig_dict, log_format_from_env  # noqa: E402

if log_format_from_env() == "json":
    logconfig_dict = gunicorn_logconfig_dict()
# Text mode: no query string (it can carry a token), with the request id.
access_log_format = "%(m)s %(U)s %(s)s %(M)sms request_id=%({x-request-id}o)s"
