"""Web pages (Jinja2 templates, static assets). Pages only render; the data comes from the JSON
endpoints, and the public certificate check runs in the visitor's browser."""

from .pages import router, static_files

__all__ = ["router", "static_files"]
