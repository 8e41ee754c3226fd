"""Passwords inside URLs (REDIS_URL, DATABASE_URL) never reach an error page.

Django's debug pages hide settings whose names sound secret (KEY, PASS, TOKEN …), but
REDIS_URL and DATABASE_URL carry their password inside the value: after the user name, or
as a query option (redis-py's ?password=, a Sentinel URL's ?sentinel_password=). The filter
here blanks the password of every URL in the settings and in a traceback's variables, and
keeps the rest (scheme, hosts, port), which is what someone reading the error needs.
"""

import re

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@ — the password ends at the last "@" before the host
_URL_PASSWORD = re.compile(r"(?P<start>\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)[^\s/?#]*@", re.I)
# ?password=… or &sentinel_password=… in a URL's query
_QUERY_PASSWORD = re.compile(r"(?P<start>[?&][a-z_]*password=)[^&#\s]*", re.I)


def without_passwords(text: str) -> str:
    """text with the password of every URL in it replaced by ***."""
    text = _URL_PASSWORD.sub(r"\g<start>***@", text)
    return _QUERY_PASSWORD.sub(r"\g<start>***", text)


def cleansed(value):
    """value with URL passwords blanked, inside dicts, lists and tuples too."""
    if isinstance(value, str):
        # str() too: a lazy string (django-axes has some in settings) only looks like one
        return without_passwords(str(value))
    if isinstance(value, dict):
        return {key: cleansed(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(cleansed(item) for item in value)
    return value


class URLPasswordFilter(SafeExceptionReporterFilter):
    """Django's filter, and URL passwords blanked in settings and traceback variables."""

    def cleanse_setting(self, key, value):
        return cleansed(super().cleanse_setting(key, value))

    def get_traceback_frame_variables(self, request, tb_frame):
        # With DEBUG on, Django shows every variable as it is: passwords in URLs too
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, cleansed(value)) for name, value in variables]
