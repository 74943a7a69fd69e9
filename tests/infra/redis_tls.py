"""A TLS-only redis-server whose riskflow user has exactly the ACL docs/operations.md ships."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.infra.redis import _free_port

__all__ = ["RedisTLS", "TLSUnsupported", "documented_acl", "redis_tls_server"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
PASSWORD = "riskflow-test-password"
ADMIN_PASSWORD = "admin-test-password"


class TLSUnsupported(RuntimeError):
    """This redis-server was built without TLS; the tests that need it skip."""


@dataclass(frozen=True)
class RedisTLS:
    port: int
    ca_file: str
    client_cert: str
    client_key: str
    username: str
    password: str
    prefix: str
    admin: redis.Redis

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"


def documented_acl() -> str:
    """The ACL line of the "Redis security" section, as an operator would copy it."""
    section = DOCS.read_text(encoding="utf-8").split("## Redis security", 1)[1]
    found = re.search(r"^user riskflow on .*$", section, re.M)
    assert found, "docs/operations.md ships no `user riskflow on ...` ACL line"
    return found.group(0)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(where: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 / localhost and a client certificate."""
    days = "2"
    ca = ("-keyout", "ca.key", "-out", "ca.pem", "-days", days, "-subj", "/CN=riskflow test CA")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", *ca, cwd=where)
    (where / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=where)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", days,
                 "-extfile", "san.ext", cwd=where)  # fmt: skip


@contextmanager
def redis_tls_server(where: Path, prefix: str = "riskflow") -> Iterator[RedisTLS]:
    binary = shutil.which("redis-server")
    if binary is None or shutil.which("openssl") is None:
        raise TLSUnsupported("redis-server or openssl is not installed")
    _certificates(where)
    acl = documented_acl().replace(">PASSWORD", f">{PASSWORD}")
    acl = acl.replace("~riskflow:*", f"~{prefix}:*")
    (where / "users.acl").write_text(
        "user default off\n"
        f"user admin on >{ADMIN_PASSWORD} ~* &* +@all\n"
        f"{acl}\n"
    )  # fmt: skip
    port = _free_port()
    log = where / "redis.log"
    proc = subprocess.Popen(
        [
            binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--tls-cert-file", "server.pem", "--tls-key-file", "server.key",
            "--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "optional",
            "--aclfile", str(where / "users.acl"), "--save", "", "--appendonly", "no",
            "--dir", str(where), "--logfile", str(log),
        ],
        cwd=where,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    admin = redis.Redis(
        port=port,
        username="admin",
        password=ADMIN_PASSWORD,
        ssl=True,
        ssl_ca_certs=str(where / "ca.pem"),
    )
    deadline = time.time() + 20
    while True:
        try:
            admin.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None:
                said = (proc.stdout.read() if proc.stdout else b"").decode(errors="replace")
                said += log.read_text(errors="replace") if log.exists() else ""
                if "tls-port" in said or "Bad directive" in said:
                    raise TLSUnsupported(f"redis-server refused TLS: {said[-300:]}") from None
                raise RuntimeError(f"redis-server stopped: {said[-1000:]}") from None
            if time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"TLS redis-server did not answer on port {port}") from None
            time.sleep(0.05)
    try:
        yield RedisTLS(
            port=port,
            ca_file=str(where / "ca.pem"),
            client_cert=str(where / "client.pem"),
            client_key=str(where / "client.key"),
            username="riskflow",
            password=PASSWORD,
            prefix=prefix,
            admin=admin,
        )
    finally:
        admin.close()
        proc.terminate()
        proc.wait(timeout=10)
