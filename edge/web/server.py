"""The set-up page: the live frame, the boxes to draw, the reading, crops to label.

Imported only when ``[web] enabled``. The standard library's threading HTTP server:
one small page and a few JSON calls need nothing more, and a dependency on the device
would cost memory and updates for every user, including those who never open it.

Security (the page changes how the meter is read):

* It listens on loopback unless ``[web] listen`` says otherwise, and any other address
  needs a password (``web.password_file`` or the credential ``web-password``): HTTP
  basic auth, which sends it readable on the network, so the log says so. Without one
  the daemon refuses to start.
* Changes only by POST carrying a token that the page got when it was loaded (a page
  of another site cannot read it), as JSON, at most :data:`MAX_BODY` bytes.
* Nothing is written outside the state directory: the locate override file and labelled
  crops, whose names are checked against what the collector wrote.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from ..config import ModelConfig, WebConfig
from ..errors import ConfigurationError, DigitdError
from ..mqtt.credentials import credential_path, read_secret
from .actions import SetupPage
from .live import LiveView

logger = logging.getLogger(__name__)

PASSWORD_CREDENTIAL = "web-password"
MAX_BODY = 64 * 1024
MAX_CONNECTIONS = 16
TOKENS_KEPT = 32  # page loads whose token is still accepted


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_password(cfg: WebConfig, env: Mapping[str, str]) -> str | None:
    """The page's password; :class:`ConfigurationError` when a non-loopback address has none."""
    path = credential_path(cfg.password_file, PASSWORD_CREDENTIAL, env)
    password = (read_secret(path, "web page password", "fix web.password_file")
                if path is not None else None)
    if password is None and not is_loopback(cfg.host):
        raise ConfigurationError(
            f"web.listen {cfg.listen} is reachable from other machines but no password is "
            "set: put one in a file named by web.password_file (or the systemd credential "
            "web-password), or listen on 127.0.0.1 and reach it through an SSH tunnel"
        )
    return password


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: WebServer

    def process_request(self, request: Any, client_address: Any) -> None:
        # Bounded: a client opening connections without end gets them closed.
        if not self.app.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.app.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that closes a tab mid-answer is no error of ours; anything else is.
        exc = sys.exception()
        if isinstance(exc, ConnectionError | TimeoutError):
            logger.debug("set-up page: %s went away (%s)", client_address[0], exc)
        else:
            logger.error("set-up page: error while answering %s", client_address[0],
                         exc_info=exc)


class _Server6(_Server):
    address_family = socket.AF_INET6


class WebServer:
    """The page and its JSON calls, on a thread of its own."""

    def __init__(self, cfg: WebConfig, live: LiveView, model: ModelConfig,
                 env: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.page = SetupPage(live, model)
        self.password = page_password(cfg, os.environ if env is None else env)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.tokens: deque[str] = deque(maxlen=TOKENS_KEPT)
        self._tokens_lock = threading.Lock()
        server_class = _Server6 if ":" in cfg.host else _Server
        try:
            self.httpd = server_class((cfg.host, cfg.port), _Handler, bind_and_activate=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot serve the set-up page on {cfg.listen}: {exc.strerror or exc}; set "
                "[web] listen to a free port on an address of this machine"
            ) from None
        self.httpd.app = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={
            "poll_interval": 0.5}, name="digitd-web", daemon=True)
        self._thread.start()
        if self.password is not None and not is_loopback(self.cfg.host):
            logger.warning("the set-up page on %s uses HTTP basic auth: its password crosses "
                           "the network readable by anyone on the way; prefer 127.0.0.1 with "
                           "an SSH tunnel", self.url)
        logger.info("set-up page on %s", self.url)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # -- what the handlers use ---------------------------------------------------------------

    def new_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._tokens_lock:
            self.tokens.append(token)
        return token

    def token_ok(self, token: str) -> bool:
        with self._tokens_lock:
            known = list(self.tokens)
        return any(hmac.compare_digest(token, t) for t in known)

    def auth_ok(self, header: str | None) -> bool:
        if self.password is None:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), self.cfg.username.encode()) & \
            hmac.compare_digest(password.encode(), self.password.encode())


def _asset(name: str) -> bytes:
    return resources.files("digitd.edge.web").joinpath(name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "digitd"
    sys_version = ""
    timeout = 10  # a client that stops sending frees its thread
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    @property
    def app(self) -> WebServer:
        return self.server.app

    # -- replies --------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str,
              extra: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                         "script-src 'self'; frame-ancestors 'none'")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: object) -> None:
        self._send(status, json.dumps(payload, allow_nan=False).encode(), "application/json")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"ok": False, "error": message})

    def _authorised(self) -> bool:
        if self.app.auth_ok(self.headers.get("Authorization")):
            return True
        self._send(HTTPStatus.UNAUTHORIZED, b"password needed\n", "text/plain",
                   {"WWW-Authenticate": 'Basic realm="digitd", charset="UTF-8"'})
        return False

    # -- GET ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        if not self._authorised():
            return
        path = self.path.split("?", 1)[0]
        if path == "/":
            token = self.app.new_token()
            page = _asset("page.html").replace(b"{{TOKEN}}", token.encode())
            self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
        elif path == "/page.js":
            self._send(HTTPStatus.OK, _asset("page.js"), "text/javascript; charset=utf-8")
        elif path == "/page.css":
            self._send(HTTPStatus.OK, _asset("page.css"), "text/css; charset=utf-8")
        elif path == "/api/state":
            self._json(HTTPStatus.OK, self.app.page.state())
        elif path in ("/frame.jpg", "/region.jpg"):
            data = self.app.page.frame_jpeg(region=path == "/region.jpg")
            if data is None:
                self._error(HTTPStatus.SERVICE_UNAVAILABLE, "no frame yet")
            else:
                self._send(HTTPStatus.OK, data, "image/jpeg")
        elif path == "/api/collected":
            self._json(HTTPStatus.OK, {"crops": self.app.page.collected()})
        elif path.startswith("/collected/"):
            found = self.app.page.collected_file(path.removeprefix("/collected/"))
            if found is None:
                self._error(HTTPStatus.NOT_FOUND, "no such crop")
            else:
                self._send(HTTPStatus.OK, found.read_bytes(), "image/png")
        else:
            self._error(HTTPStatus.NOT_FOUND, f"nothing at {path}")

    # -- POST -----------------------------------------------------------------------------

    def do_POST(self) -> None:
        if not self._authorised():
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length needed")
            return
        if int(length) > MAX_BODY:
            # Not read: the connection is closed with the answer.
            self.close_connection = True
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"at most {MAX_BODY} bytes, not {length}")
            return
        body = self.rfile.read(int(length))
        if not self.app.token_ok(self.headers.get("X-Digitd-Token", "")):
            self._error(HTTPStatus.FORBIDDEN, "missing or stale page token: reload the page")
            return
        if self.headers.get_content_type() != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
            return
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("send a JSON object")
        except ValueError as exc:
            self._error(HTTPStatus.BAD_REQUEST, f"not JSON: {exc}")
            return
        path = self.path.split("?", 1)[0]
        started = time.perf_counter()
        try:
            if path == "/api/locate":
                result = self.app.page.apply_locate(data.get("locate", {}), bool(data.get("save")))
            elif path == "/api/label":
                result = self.app.page.label(data.get("name"), data.get("label"))
            else:
                self._error(HTTPStatus.NOT_FOUND, f"nothing at {path}")
                return
        except LookupError as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
            return
        except (ValueError, DigitdError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        except OSError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR,
                        f"cannot write in the state directory: {exc.strerror or exc}")
            return
        logger.debug("%s took %.0f ms", path, (time.perf_counter() - started) * 1000)
        self._json(HTTPStatus.OK, result)
