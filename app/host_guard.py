"""DNS-rebinding guard: the server answers only requests addressed to a host it trusts.

A page on another site can make a browser send requests to 127.0.0.1 under the attacker's own
host name (DNS rebinding); checking the Host header refuses those before any page, callback or
download runs. Trusted: the loopback names, the bound address, and MISCOPE_ALLOWED_HOSTS
(comma separated; `*` trusts every host, e.g. behind a reverse proxy that checks it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import flask

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
ENV_ALLOWED_HOSTS = "MISCOPE_ALLOWED_HOSTS"


def host_name(header: str) -> str:
    """'LocalHost:8050' -> 'localhost', '[::1]:8050' -> '::1' (port, brackets, final dot off)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    if header.count(":") == 1:
        header = header.partition(":")[0]
    return header.rstrip(".")


def trusted_hosts(bind_host: str | None = None, extra: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the bound address (unless a wildcard), `extra` and the env variable."""
    env = [h for h in os.environ.get(ENV_ALLOWED_HOSTS, "").split(",") if h.strip()]
    hosts = set(LOOPBACK_HOSTS) | {
        host_name(h) if h.strip() != "*" else "*" for h in [*extra, *env]
    }
    if bind_host is not None and host_name(bind_host) not in WILDCARD_BINDS:
        hosts.add(host_name(bind_host))
    return frozenset(hosts)


def install_host_guard(server: flask.Flask, hosts: frozenset[str]) -> None:
    """Refuse (403, plain text) every request whose Host header is not in `hosts`."""
    server.config["MISCOPE_TRUSTED_HOSTS"] = hosts

    @server.before_request
    def _check_host():
        trusted = server.config["MISCOPE_TRUSTED_HOSTS"]
        if "*" in trusted or host_name(flask.request.host) in trusted:
            return None
        return flask.Response(
            f"Host {flask.request.host!r} is not trusted by this MIScope server (DNS rebinding "
            f"guard); trusted: {', '.join(sorted(trusted))}. To reach it under another name, "
            f"set {ENV_ALLOWED_HOSTS}=<name>.",
            status=403,
            mimetype="text/plain",
        )
