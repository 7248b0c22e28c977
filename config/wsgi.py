import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

from config.access_log import AccessLogApp  # noqa: E402
from config.env import env_bool  # noqa: E402
from config.wsgi_environ import WithoutProcessEnvironment  # noqa: E402
from core.health import HealthProbeApp  # noqa: E402  (needs Django set up)

# Load-balancer probes are answered ahead of Django's handler (core/health.py);
# the process's environment never reaches request.META (config/wsgi_environ.py);
# one access line per request (config/access_log.py).
application = AccessLogApp(
    WithoutProcessEnvironment(HealthProbeApp(django_application), os.environ),
    log_probes=env_bool("LOG_HEALTH_PROBES", default=False),
)
