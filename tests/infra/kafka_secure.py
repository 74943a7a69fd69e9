"""A Kafka broker that takes only SASL_SSL, as a bank's does: `kafka-local start --secure`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.kafka import SCRIPT, start_script, wait_for_metadata

__all__ = ["SecureKafka", "secure_kafka_broker", "secure_tools_missing"]


@dataclass(frozen=True)
class SecureKafka:
    bootstrap: str
    ca: str
    """The CA made for the run, which signed the broker's certificate."""
    password_file: str
    """The `riskflow` principal's SCRAM password."""
    admin_password: str
    """The super-user's, for what the test does outside riskflow's ACLs."""

    @property
    def password(self) -> str:
        return Path(self.password_file).read_text().strip()

    def client(self, username: str = "riskflow", **more: Any) -> dict[str, Any]:
        """A `kafka.client` section: TLS on the run's CA, SCRAM as `username`."""
        return {
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": self.ca,
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": username,
        } | more

    def admin(self) -> dict[str, Any]:
        return self.client("admin", **{"sasl.password": self.admin_password})

    def riskflow(self) -> dict[str, Any]:
        return self.client(**{"sasl.password": self.password})


def secure_tools_missing() -> str | None:
    """Why the secured broker cannot start here, or None."""
    # Java is Kafka's own need, the plaintext broker's too; only the certificates add one.
    return None if shutil.which("openssl") else "the secured broker's certificates need openssl"


@contextmanager
def secure_kafka_broker(workdir: Path) -> Iterator[SecureKafka]:
    out = start_script(workdir, "the secured Kafka", "--secure")
    printed = dict(line.split("=", 1) for line in out.split() if "=" in line)
    broker = SecureKafka(
        bootstrap=printed["KAFKA_BOOTSTRAP_SERVERS"],
        ca=printed["KAFKA_SSL_CA_LOCATION"],
        password_file=printed["KAFKA_SASL_PASSWORD_FILE"],
        admin_password=(workdir / "secrets" / "admin.password").read_text().strip(),
    )
    try:
        wait_for_metadata(broker.bootstrap, client=broker.admin())
        yield broker
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", "--dir", str(workdir)], timeout=60)
