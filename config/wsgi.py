import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

from core.health import HealthProbeApp  # noqa: E402  (needs Django set up)

# Load-balancer probes are answered ahead of Django's handler (core/health.py).
application = HealthProbeApp(django_application)
