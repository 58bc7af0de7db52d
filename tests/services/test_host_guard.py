"""The server answers only requests addressed to a trusted host (DNS-rebinding guard)."""

from __future__ import annotations

import pytest

from app.host_guard import ENV_ALLOWED_HOSTS, host_name, trusted_hosts


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from app.server import create_app

    root = tmp_path_factory.mktemp("workspace")
    return create_app(root, supervise=False, host="192.168.1.5").server.test_client()


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8050",
        "127.0.0.1:8050",
        "[::1]:8050",
        "LOCALHOST.:8050",
        "192.168.1.5:8050",
    ],
)
def test_trusted_hosts_are_served(client, host):
    response = client.get("/", headers={"Host": host})
    assert response.status_code == 200, (host, response.data[:200])


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8050",
        "localhost.evil.example",
        "127.0.0.1.nip.io:8050",
        "192.168.1.6",
    ],
)
@pytest.mark.parametrize(
    "path", ["/", "/_dash-layout", "/download/p23/x.png?epoch=0", "/assets/explore.js"]
)
def test_other_hosts_are_refused_everywhere(client, host, path):
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 403
    assert b"not trusted" in response.data and ENV_ALLOWED_HOSTS.encode() in response.data


def test_refused_post_runs_no_callback(client):
    response = client.post("/_dash-update-component", json={}, headers={"Host": "evil.example"})
    assert response.status_code == 403


def test_host_names_and_the_environment(monkeypatch):
    assert host_name("[::1]:80") == "::1" and host_name("Example.ORG.:1") == "example.org"
    assert trusted_hosts("0.0.0.0") == {"localhost", "127.0.0.1", "::1"}
    monkeypatch.setenv(ENV_ALLOWED_HOSTS, "lab.example, box:9000")
    assert {"lab.example", "box"} <= trusted_hosts()
    monkeypatch.setenv(ENV_ALLOWED_HOSTS, "*")
    assert "*" in trusted_hosts()
