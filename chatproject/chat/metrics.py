"""The counts of chat/counters.py in Prometheus's text format, for local or staff eyes.

A request reaches /metrics when it comes from this machine (a loopback address, and no
proxy says it forwarded it) or from a logged-in staff user; anyone else gets a 404, as if
there were nothing there. Each server process answers with its own counts: scrape every
process (each has its own port) and add them up in Prometheus, as it does for any set of
targets (``sum by (code) (chat_refused_total)``).
"""

from ipaddress import ip_address

from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .counters import registry

# Headers a proxy adds to say whom it forwards for: such a request only looks local
FORWARDED_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")


def metrics(request: HttpRequest) -> HttpResponse:
    if not (is_local(request) or request.user.is_staff):
        raise Http404
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def is_local(request: HttpRequest) -> bool:
    """From this machine itself: a loopback address, not forwarded by a proxy."""
    if any(header in request.META for header in FORWARDED_HEADERS):
        return False
    try:
        address = ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:  # no address at all (a Unix socket), or not one
        return False
    # ::ffff:127.0.0.1 is IPv4's loopback, as a dual-stack socket reports it
    return (getattr(address, "ipv4_mapped", None) or address).is_loopback
