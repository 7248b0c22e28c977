"""gunicorn settings for `web:` in the Procfile; each can be overridden by env."""

import os

from config.env import env_bool, env_int

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Measured on 2 cores (docs/contributors.md "The server model"): 2 workers of 4 threads beat sync
# workers, which close every connection after one answer, and 2 or 8 threads.
workers = env_int("WEB_CONCURRENCY", default=2)
worker_class = "gthread"
threads = env_int("GUNICORN_THREADS", default=4)
# The project is imported once, in the master: workers fork ready (and recycle
# cheaply) and share its memory until they write to it.
preload_app = env_bool("GUNICORN_PRELOAD", default=True)
# A request may take this long; slow clients and uploads are bounded by it.
timeout = env_int("GUNICORN_TIMEOUT", default=30)
# On SIGTERM (a deploy or scale-down), in-flight requests get this long to finish.
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", default=25)
# Behind a balancer that routes by /health (not Render's, which stops routing before
# SIGTERM): keep serving this long after SIGTERM while /health answers 503 (0: off).
drain_seconds = env_int("GUNICORN_DRAIN_SECONDS", default=0)


def post_worker_init(worker):
    if drain_seconds > 0:
        from config.gunicorn_drain import drain_on_sigterm

        drain_on_sigterm(worker, seconds=drain_seconds)


# gunicorn's runtime control socket (~/.gunicorn/gunicorn.ctl): unused here, so off,
# which also keeps two servers run by one user from sharing it.
control_socket_disable = not env_bool("GUNICORN_CONTROL_SOCKET", default=False)
keepalive = 5
# Recycle workers now and then, so a slow leak never takes the service down; rarely,
# and never both at once: every 2,000 requests meant a restart every few seconds.
max_requests = env_int("GUNICORN_MAX_REQUESTS", default=20000)
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
# No access line for a GET /health answered 200 (config/access_log.py).
if not env_bool("LOG_HEALTH_PROBES", default=False):
    logger_class = "config.access_log.ProbeQuietLogger"

# Access and error logs as JSON lines in production (IS_PRODUCTION=true or
# LOG_FORMAT=json), each with the request id that X-Request-ID answers.
from config.observability import gunicorn_logconfig_dict, log_format_from_env  # noqa: E402

if log_format_from_env() == "json":
    logconfig_dict = gunicorn_logconfig_dict()
# Text mode: no query string (it can carry a token), with the request id.
access_log_format = "%(m)s %(U)s %(s)s %(M)sms request_id=%({x-request-id}o)s"
