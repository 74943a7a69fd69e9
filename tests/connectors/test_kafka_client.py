"""One configuration for every Kafka client: the `kafka.client` section and its secrets."""

from __future__ import annotations

import pytest

from riskflow.connectors.kafka import KafkaSettings
from riskflow.connectors.kafka_client import (
    KafkaSecretError,
    client_config,
    redacted,
    resolve_client,
)


def test_the_section_reaches_the_config_between_the_bootstrap_and_the_role():
    client = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512"}
    config = client_config("k1:9092", client, {"linger.ms": 0}, {"linger.ms": 5})
    assert config == {
        "bootstrap.servers": "k1:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "linger.ms": 5,
    }


def test_without_a_section_a_client_is_plaintext_on_its_bootstrap():
    assert client_config("k:9092") == {"bootstrap.servers": "k:9092"}


def test_the_settings_build_the_same_config():
    settings = KafkaSettings(bootstrap_servers="k:1", client={"ssl.ca.location": "ca.pem"})
    assert settings.client_config({"group.id": "g"}) == {
        "bootstrap.servers": "k:1",
        "ssl.ca.location": "ca.pem",
        "group.id": "g",
    }


def test_a_value_comes_from_an_environment_variable():
    resolved = resolve_client(
        {"sasl.username": "riskflow", "sasl.password_env": "PW"}, environ={"PW": "s3cret"}
    )
    assert resolved == {"sasl.username": "riskflow", "sasl.password": "s3cret"}


def test_a_value_comes_from_a_file_without_its_trailing_newline(tmp_path):
    secret = tmp_path / "kafka"
    secret.write_text("s3cret\n")
    resolved = resolve_client({"sasl.password_file": str(secret)}, environ={})
    assert resolved == {"sasl.password": "s3cret"}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"sasl.password_env": "RISKFLOW_KAFKA_PASSWORD"},
            "kafka.client.sasl.password_env: environment variable RISKFLOW_KAFKA_PASSWORD "
            "is not set",
        ),
        ({"sasl.password_env": "EMPTY"}, "environment variable EMPTY is empty"),
        ({"sasl.password_file": "/nonexistent/kafka"}, "no such file /nonexistent/kafka"),
        ({"sasl.password_env": 5}, "give the name of an environment variable"),
        (
            {"sasl.password": "a", "sasl.password_env": "EMPTY"},
            "give one of sasl.password, sasl.password_env, not several",
        ),
    ],
)
def test_a_secret_that_is_not_there_is_one_line_naming_its_key(section, message):
    with pytest.raises(KafkaSecretError) as caught:
        resolve_client(section, environ={"EMPTY": ""})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_empty_secret_file_is_refused(tmp_path):
    secret = tmp_path / "kafka"
    secret.write_text("\n")
    with pytest.raises(KafkaSecretError, match="is empty"):
        resolve_client({"sasl.password_file": str(secret)}, environ={})


def test_a_report_masks_secrets_written_in_the_yaml_but_names_where_others_are():
    section = {
        "sasl.username": "riskflow",
        "sasl.password": "s3cret",
        "ssl.key.password_file": "/run/secrets/key",
        "sasl.oauthbearer.client.secret": "t0ken",
    }
    assert redacted(section) == {
        "sasl.username": "riskflow",
        "sasl.password": "***",
        "ssl.key.password_file": "/run/secrets/key",
        "sasl.oauthbearer.client.secret": "***",
    }
