"""``tokenfab ui``: serve the web dashboard (a thin layer over tokenfab.ui, itself a thin layer over the library)."""

from __future__ import annotations

import ipaddress
import re

import typer

from tokenfab.cli.common import console, err_console, esc
from tokenfab.core.errors import TokenfabError, install_hint

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(host: str) -> tuple[str, ...] | None:
    """Host headers the app accepts (DNS-rebinding guard): loopback names, plus ``host`` itself when it is a
    specific address; None (any) when binding to all interfaces."""
    if host in ("0.0.0.0", "::", ""):
        return None
    names = ["127.0.0.1", "localhost", "[::1]"]
    if host not in names:
        names.append(f"[{host}]" if ":" in host else host)
    return tuple(names)


def register(app: typer.Typer) -> None:
    @app.command("ui")
    def ui_cmd(
        host: str = typer.Option(
            "127.0.0.1", "--host", help="address to bind (default loopback only: the dashboard has no authentication)"
        ),
        port: int = typer.Option(8050, "--port", help="TCP port"),
    ):
        """Serve the web dashboard (Fit, Estimate, Frontier, TCO, Plan, Bench) on http://HOST:PORT."""
        if not 0 < port < 65536:
            raise TokenfabError("not a TCP port", field="--port", expected="1..65535", got=port)
        if not re.fullmatch(r"[A-Za-z0-9.:\-]{1,253}|\[[0-9A-Fa-f:.]+\]", host):
            raise TokenfabError("not a host name or IP address", field="--host", expected="e.g. 127.0.0.1", got=host)
        host = host.strip("[]")
        try:
            import uvicorn

            from tokenfab.ui.app import create_app
        except ModuleNotFoundError as e:
            raise TokenfabError(f"the dashboard needs {e.name}", field="ui", hint=install_hint("ui")) from None
        if not _is_loopback(host):
            err_console.print(
                f"[yellow]warning:[/] binding to {esc(host)}: the dashboard has no authentication; anyone "
                f"who can reach this address can use it",
                highlight=False,
            )
        shown = f"[{host}]" if ":" in host else host
        console.print(f"tokenfab dashboard on [bold]http://{esc(shown)}:{port}/[/] (Ctrl-C to stop)", highlight=False)
        uvicorn.run(create_app(allowed_hosts=allowed_hosts_for(host)), host=host, port=port, log_level="warning")
