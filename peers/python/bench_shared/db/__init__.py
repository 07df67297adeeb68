"""The database category's domain for every Python peer: the seeded rows
(`seed`), the endpoints' rules and errors (`rules`), the URL a server is
given (`location`), and the SQLAlchemy models and statements the SQLAlchemy
peers share (`orm`, imported only by them). Django's models live in its peer."""

import os as _os

#: The Jinja2 templates of the SQLAlchemy peers (`fortunes.html`).
TEMPLATES = _os.path.join(_os.path.dirname(__file__), "templates")
