"""The SIP2 TCP server: one thread per kiosk connection (socketserver), one database
transaction per message, optional TLS.

Framing: a frame ends with CR (CR LF and a bare LF are accepted too). A frame with a checksum
that does not add up is answered with 96 (resend) and not executed. A kiosk that re-sends the
frame it sent last (same sequence number, same bytes: it never got our answer) gets the same
answer again without the transaction being run twice. A kiosk that goes quiet for the idle
timeout is disconnected; one that disconnects in the middle of a frame has sent nothing that is
executed, and a message being executed when it disconnects commits or rolls back as a whole.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import threading
from typing import Any

from flask import Flask
from flask_babel import force_locale

from circulation.sip2 import protocol as p
from circulation.sip2.handlers import Connection, respond
from library.db import get_database

log = logging.getLogger("library.sip2")

MAX_FRAME = 16 * 1024
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_CONNECTIONS = 200
INDEX_DELAY = 1.0


class _Handler(socketserver.BaseRequestHandler):
    server: Sip2Server

    def setup(self) -> None:
        self.server.track(self.request, add=True)

    def finish(self) -> None:
        self.server.track(self.request, add=False)

    def handle(self) -> None:
        sock: socket.socket = self.request
        app = self.server.app
        addr = self.client_address[0] if isinstance(self.client_address, tuple) else str(self.client_address)
        try:
            sock.settimeout(self.server.idle_timeout)
            if isinstance(sock, ssl.SSLSocket):
                sock.do_handshake()
        except (OSError, ssl.SSLError) as exc:
            log.info("sip2: TLS handshake with %s failed: %s", addr, exc)
            return
        conn = Connection(remote_addr=addr)
        log.info("sip2: connection from %s", addr)
        with app.app_context(), force_locale(self.server.locale):
            self._serve(sock, conn)
        log.info("sip2: %s (%s) disconnected", addr, conn.kiosk_login or "-")

    def _serve(self, sock: socket.socket, conn: Connection) -> None:
        buffer = b""
        while not self.server.stopping.is_set():
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                log.info("sip2: %s (%s) idle, disconnecting", conn.remote_addr, conn.kiosk_login or "-")
                return
            except (OSError, ssl.SSLError):
                return
            if not chunk:
                return  # the kiosk hung up; a partial frame in the buffer is dropped unexecuted
            buffer += chunk
            while True:
                cut = _frame_end(buffer)
                if cut is None:
                    break
                frame, buffer = buffer[:cut], buffer[cut + 1:]
                frame = frame.strip(b"\r\n\x00 ")
                if not frame:
                    continue
                try:
                    out = self.answer(conn, frame)
                except Exception:  # a bug must not cost the kiosk its connection
                    log.exception("sip2: answering %r from %s failed", frame[:80], conn.remote_addr)
                    out = p.resend_request()
                try:
                    sock.sendall(out)
                except (OSError, ssl.SSLError):
                    return
                if conn.state_changed:
                    self.server.after_commit()
            if len(buffer) > MAX_FRAME:
                log.warning("sip2: %s sent %d bytes without a frame end; disconnecting", conn.remote_addr,
                            len(buffer))
                return

    def answer(self, conn: Connection, frame: bytes) -> bytes:
        charset = conn.charset
        try:
            msg = p.parse_frame(frame, conn.charset if conn.logged_in else None)
        except p.FrameError:
            return p.resend_request()
        if not msg.checksum_ok:
            return p.resend_request()
        if msg.code == "97":
            return conn.last_response or p.resend_request()
        if (msg.sequence is not None and conn.last_request == frame and conn.last_sequence == msg.sequence
                and conn.last_response is not None):
            return conn.last_response  # the same frame again: the kiosk never got our answer
        response = respond(self.server.app, conn, msg, self.server.write_lock)
        conn.state_changed = conn.state_changed and response is not None
        if response is None:
            out = p.resend_request()
        else:
            out = p.encode(response, charset=conn.charset if conn.logged_in else charset, sequence=msg.sequence)
        conn.last_request, conn.last_sequence, conn.last_response = frame, msg.sequence, out
        return out


def _frame_end(buffer: bytes) -> int | None:
    """Index of the first frame terminator (CR, or LF when no CR comes first)."""
    cr = buffer.find(b"\r")
    lf = buffer.find(b"\n")
    ends = [i for i in (cr, lf) if i != -1]
    return min(ends) if ends else None


class Sip2Server(socketserver.ThreadingTCPServer):
    """``Sip2Server(app, (host, port)).serve_forever()``; ``stop()`` ends it and every open
    connection. ``tls`` is an ``ssl.SSLContext`` (server side) or None. With ``follow_index``
    this process applies the search outbox after kiosk transactions (web nodes catch up on their
    next search in any case)."""

    # Connection threads are joined on close, so a message being executed finishes its
    # transaction before the process (or a test) goes on.
    daemon_threads = False
    allow_reuse_address = True
    block_on_close = True

    def __init__(self, app: Flask, address: tuple[str, int], *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 tls: ssl.SSLContext | None = None, locale: str = "zh_Hans", follow_index: bool = True,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self.app = app
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.tls = tls
        self.locale = locale
        self.stopping = threading.Event()
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        sqlite = get_database(app).dialect == "sqlite"
        self.write_lock = threading.Lock() if sqlite else None
        # SQLite sessions open and close a connection per transaction; when the last connection
        # to a WAL database closes, SQLite checkpoints and removes the WAL, which made every
        # kiosk transaction pay for a checkpoint. One idle connection kept open avoids that.
        self._keeper = get_database(app).engine.raw_connection() if sqlite else None
        self._index_due = threading.Event()
        super().__init__(address, _Handler)
        self._indexer = threading.Thread(target=self._follow_index, name="sip2-index", daemon=True)
        if follow_index:
            self._indexer.start()

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            # The handshake happens on the connection's own thread (do_handshake in handle).
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Refuse (close at once) connections beyond ``max_connections``: a runaway client must
        not exhaust threads and database connections that the kiosks need."""
        with self._lock:
            busy = len(self._open)
        if busy >= self.max_connections:
            log.warning("sip2: %d connections open; refusing %s", busy, client_address)
            return False
        return True

    def track(self, sock: Any, *, add: bool) -> None:
        with self._lock:
            if add:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def after_commit(self) -> None:
        """Ask the index follower to apply the search outbox (item status changes). It runs on
        its own thread, so kiosks never wait for the index, and a burst of transactions is
        applied in one go."""
        self._index_due.set()

    def _follow_index(self) -> None:
        try:
            from catalog import search
        except ImportError:
            return
        hook = getattr(search, "after_commit", None)
        if hook is None:
            return
        while not self.stopping.is_set():
            if not self._index_due.wait(0.5):
                continue
            # Let a burst of kiosk transactions gather (the web nodes catch up on their next
            # search anyway), so the index is written once per burst, not once per book.
            self.stopping.wait(INDEX_DELAY)
            self._index_due.clear()
            try:
                with self.app.app_context():
                    hook(self.app)
            except Exception:
                log.exception("sip2: applying the search outbox failed (it is retried on the next commit)")

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def stop(self) -> None:
        """Stop accepting, close every kiosk connection, wait for their threads."""
        self.stopping.set()
        self.shutdown()
        with self._lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._indexer.is_alive():
            self._indexer.join(timeout=30)
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None


def tls_context(cert_path: str, key_path: str | None = None) -> ssl.SSLContext:
    """A server TLS context from a PEM certificate (and key; by default in the same file)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path or None)
    return ctx


def start_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> Sip2Server:
    """Start a server on a background thread (tests, embedding); call ``stop()`` when done."""
    server = Sip2Server(app, (host, port), **kwargs)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"sip2-{server.port}", daemon=True)
    thread.start()
    return server
