"""The floor: the least a Python WSGI server can do per request, for scale.

gunicorn bench.floor:app -k gthread -w 2 --threads 4
"""

BODY = (
    b'{"status":"ok","detail":"bare WSGI floor for the benchmark","pad":"xxxxxxxxxx"}'
)
BODY = BODY + b" " * (100 - len(BODY))
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
