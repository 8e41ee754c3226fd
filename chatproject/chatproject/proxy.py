"""Serving the chat through Jupyter's proxy (jupyter-server-proxy), at <prefix>/chat/….

The browser opens http://127.0.0.1:8888/proxy/8001/chat/ (or, on JupyterHub,
/user/alice/proxy/8001/chat/), and the proxy passes the request on to the chat as /chat/ on
127.0.0.1:8001: it strips the prefix, and keeps the browser's Host and Origin headers.
Settings name the prefix (CHAT_PROXY_PREFIX); this middleware tells Django and Channels.
"""

from urllib.parse import quote

from django.utils.http import RFC3986_SUBDELIMS


class ProxyPrefix:
    """Put the proxy's prefix back into every request's scope, and keep redirects under it.

    root_path is ASGI's SCRIPT_NAME: Django prefixes every URL it reverses with it, and
    Channels' URLRouter takes it off again (it requires the path to start with it, as
    uvicorn's --root-path does it; daphne's would leave the path alone). Requests that
    already carry the prefix, and kernel-side clients that talk to 127.0.0.1 directly
    without it, are served the same.
    """

    def __init__(self, application, prefix: str) -> None:
        self.application = application
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.application(scope, receive, send)
        # Without raw_path, which would still be the path as received (nothing here reads it)
        scope = {name: value for name, value in scope.items() if name != "raw_path"}
        scope |= {"root_path": self.prefix, "path": self.full_path(scope["path"])}
        if scope["type"] == "http":
            send = self.relative_redirects(scope["path"], send)
        return await self.application(scope, receive, send)

    def full_path(self, path: str) -> str:
        return path if path.startswith(self.prefix + "/") else self.prefix + path

    def relative_redirects(self, path: str, send):
        """Wrap send so that a redirect to <prefix>/x/ is written relative to this page.

        jupyter-server-proxy 4.6 prefixes a Location that starts with "/" once more (it
        assumes a backend that does not know its prefix); a relative one it leaves alone,
        and the browser resolves it against the page's own URL, under the prefix.
        """
        depth = path.count("/") - 1

        async def send_relative(message):
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = list(message["headers"])
                for index, (name, value) in enumerate(headers):
                    if name.lower() == b"location":
                        headers[index] = (name, self.relative_location(value, depth))
                message = {**message, "headers": headers}
            await send(message)

        return send_relative

    def relative_location(self, location: bytes, depth: int) -> bytes:
        # Quoted as reverse() quotes it, so that a user name such as a@b.org matches
        prefix = quote(self.prefix, safe=RFC3986_SUBDELIMS + "/~:@").encode() + b"/"
        if not location.startswith(prefix):
            return location
        return b"../" * depth + location.removeprefix(b"/") or b"./"
