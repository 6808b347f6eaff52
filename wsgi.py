"""For gunicorn: `gunicorn wsgi:app`."""
from router.app import create_app

app = create_app()
