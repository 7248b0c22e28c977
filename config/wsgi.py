import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

from config.wsgi_environ import WithoutProcessEnvironment  # noqa: E402
from core.health import HealthProbeApp  # noqa: E402  (needs Django set up)

# Load-balancer probes are answered ahead of Django's handler (core/health.py), and
# the process's environment never reaches request.META (config/wsgi_environ.py).
# The web server (config/serve.py) adds the access log around it.
application = WithoutProcessEnvironment(HealthProbeApp(django_application), os.environ)
