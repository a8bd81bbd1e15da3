"""``library sip2``: run the SIP2 server for self-check kiosks."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from circulation.sip2.server import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, Sip2Server, tls_context


@click.command("sip2")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=6001, show_default=True, type=int)
@click.option("--idle-timeout", default=None, type=float,
              help=f"Seconds a kiosk may stay silent before it is disconnected (default "
                   f"LIBRARY_SIP2_IDLE_TIMEOUT or {int(DEFAULT_IDLE_TIMEOUT)}).")
@click.option("--tls-cert", default=None, help="PEM certificate: serve TLS (default LIBRARY_SIP2_TLS_CERT).")
@click.option("--tls-key", default=None, help="PEM private key, if not in the certificate file "
                                              "(default LIBRARY_SIP2_TLS_KEY).")
@click.option("--max-connections", default=DEFAULT_MAX_CONNECTIONS, show_default=True, type=int,
              help="Connections beyond this are closed at once.")
@click.option("--follow-index/--no-follow-index", default=True, show_default=True,
              help="Apply the search outbox to this node's index after kiosk transactions.")
@with_appcontext
def sip2_command(host: str, port: int, idle_timeout: float | None, tls_cert: str | None,
                 tls_key: str | None, max_connections: int, follow_index: bool) -> None:
    """Serve SIP2 2.00 to self-check kiosks (one thread per connection)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cfg: dict[str, Any] = app.config
    timeout = idle_timeout or float(cfg.get("LIBRARY_SIP2_IDLE_TIMEOUT")
                                    or os.environ.get("LIBRARY_SIP2_IDLE_TIMEOUT") or DEFAULT_IDLE_TIMEOUT)
    cert = tls_cert or cfg.get("LIBRARY_SIP2_TLS_CERT") or os.environ.get("LIBRARY_SIP2_TLS_CERT")
    key = tls_key or cfg.get("LIBRARY_SIP2_TLS_KEY") or os.environ.get("LIBRARY_SIP2_TLS_KEY")
    try:
        tls = tls_context(cert, key) if cert else None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot load the TLS certificate {cert}: {exc}") from exc
    try:
        server = Sip2Server(app, (host, port), idle_timeout=timeout, tls=tls, follow_index=follow_index,
                            max_connections=max_connections)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="sip2-accept")
    thread.start()
    click.echo(f"SIP2 server listening on {host}:{server.port}{' (TLS)' if tls else ''}; "
               f"idle timeout {timeout:g} s")
    sys.stdout.flush()
    done = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not done.wait(1.0):
        pass
    click.echo("SIP2 server stopping")
    server.stop()
    thread.join()
