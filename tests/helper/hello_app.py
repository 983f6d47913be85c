"""A WSGI app for the gunicorn tests: answers "hello from gunicorn", or
"hello TAG" when the program's environment sets TAG (so that a reload's
new programs tell themselves apart from the old)."""
import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("hello %s\n" % os.environ.get("TAG", "from gunicorn")).encode()]
