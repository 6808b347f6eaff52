"""For the web server: `granian --interface wsgi wsgi:app` (docs/production.md)."""
from router.app import create_app

app = create_app(watch=True)   # with the delivery watch that raises Sparky's own alerts
