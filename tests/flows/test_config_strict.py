"""Every section of the config is strict: a typo or a wrong type names its path, in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import msgspec
import pytest

from riskflow.flows.config import ConfigError, Settings, load_settings

# One misspelt key per section, written as an operator would; union sections need their tag.
TYPOS = {
    "input": ("input: {type: files, paymnts: p.jsonl}\n", "input.paymnts"),
    "output": ("output: {type: files, directry: out}\n", "output.directry"),
    "kafka": ("kafka: {bootstrap_server: k:9092}\n", "kafka.bootstrap_server"),
    "redis": ("redis: {ur: 'redis://r:6379/0'}\n", "redis.ur"),
    "rules": ("rules: {pth: r.yaml}\n", "rules.pth"),
    "lists": ("lists: {backnd: file}\n", "lists.backnd"),
    "features": ("features: {window_capp: 10}\n", "features.window_capp"),
    "policy": ("policy: {chalenge: 0.2}\n", "policy.chalenge"),
    "priors": ("priors: {base_rat: 0.01}\n", "priors.base_rat"),
    "limits": ("limits: {enabld: false}\n", "limits.enabld"),
    "notifications": ("notifications: {large_transfr: 1}\n", "notifications.large_transfr"),
    "models": ("models: {every_label: 5}\n", "models.every_label"),
    "parse": ("parse: {past_day: 3}\n", "parse.past_day"),
    "deadletters": ("deadletters: {raw: true}\n", "deadletters.raw"),
    "audit": ("audit: {pth: a.jsonl}\n", "audit.pth"),
    "metrics": ("metrics: {prt: 1}\n", "metrics.prt"),
    "recovery": ("recovery: {directori: /x}\n", "recovery.directori"),
}


def test_every_section_has_a_typo_case():
    assert set(TYPOS) == {f.name for f in msgspec.structs.fields(Settings)}


@pytest.mark.parametrize("section", sorted(TYPOS))
def test_a_typo_in_any_section_is_refused_with_its_path(tmp_path, section):
    text, where = TYPOS[section]
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert f"{path}: {where}: unknown key" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("kafka: {topics: {paymnts: p}}\n", "kafka.topics.paymnts"),
        (
            "limits: {methods: {password: {per_tx: 1, daily: 2}}}\n",
            "limits.methods.password.per_tx",
        ),
        ("bogus: 1\n", "bogus"),
    ],
)
def test_nested_and_top_level_typos_name_their_path(tmp_path, text, where):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"{where}: unknown key"):
        load_settings(path, env={})


def test_a_typo_suggests_the_key_meant(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("policy: {chalenge: 0.2}\n")
    with pytest.raises(ConfigError, match="did you mean `challenge`"):
        load_settings(path, env={})


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("policy: {challenge: high}\n", "policy.challenge: expected `float`, got `str`"),
        ("features: {window_cap: many}\n", "features.window_cap: expected `int`, got `str`"),
        ("metrics: {port: [1]}\n", "metrics.port: expected `int`, got `array`"),
        ("policy: {challenge: 0.95}\n", "policy: policy thresholds must satisfy"),
    ],
)
def test_a_wrong_value_names_its_path(tmp_path, text, where):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert where in str(caught.value)


def test_a_missing_file_invalid_yaml_and_a_non_mapping_are_one_clear_line(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(missing, env={})
    broken = tmp_path / "broken.yaml"
    broken.write_text("policy: {challenge: 0.2\nmodels: [\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+, column \d+: invalid YAML"):
        load_settings(broken, env={})
    listed = tmp_path / "list.yaml"
    listed.write_text("- policy\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(listed, env={})


def test_config_errors_are_value_errors_so_older_callers_still_catch_them(tmp_path):
    assert issubclass(ConfigError, ValueError)


def test_valid_dataclass_sections_still_load(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("policy: {challenge: 0.2, review: 0.5}\nfeatures: {unlock_methods: [token]}\n")
    settings = load_settings(path, env={})
    assert settings.policy.challenge == 0.2
    assert settings.features.unlock_methods == ("token",)


@pytest.mark.parametrize("command", ["run", "demo", "backtest"])
def test_the_commands_report_a_bad_config_as_one_line_with_exit_2(tmp_path, command):
    path = tmp_path / "c.yaml"
    path.write_text("policy: {chalenge: 0.2}\n")
    args = {
        "run": ["run", "--config", str(path)],
        "demo": ["demo", "--config", str(path), "--out", str(tmp_path / "o")],
        "backtest": [
            "backtest",
            "--config",
            str(path),
            "--out",
            str(tmp_path / "o"),
            "--payments",
            str(tmp_path / "p.jsonl"),
        ],
    }[command]
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "policy.chalenge: unknown key" in lines[0]


def test_the_kafka_client_section_takes_any_librdkafka_property(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKFLOW_TEST_KAFKA_PASSWORD", "s3cret")
    path = tmp_path / "c.yaml"
    path.write_text(
        "kafka:\n"
        "  client:\n"
        "    security.protocol: SASL_SSL\n"
        "    sasl.password_env: RISKFLOW_TEST_KAFKA_PASSWORD\n"
        "    socket.timeout.ms: 10000\n"
    )
    settings = load_settings(path, env={})
    assert settings.kafka.client["socket.timeout.ms"] == 10000
    assert settings.kafka.client_config()["sasl.password"] == "s3cret"


def test_a_kafka_client_value_of_the_wrong_shape_names_its_path(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("kafka: {client: {security.protocol: [SASL_SSL]}}\n")
    expected = re.escape("kafka.client[...]: expected `bool | int | float | str`, got `array`")
    with pytest.raises(ConfigError, match=expected):
        load_settings(path, env={})


@pytest.mark.parametrize("command", ["run", "lists"])
def test_a_missing_kafka_secret_is_one_line_with_exit_2(tmp_path, command):
    path = tmp_path / "c.yaml"
    path.write_text("kafka: {client: {sasl.password_env: RISKFLOW_TEST_UNSET_PASSWORD}}\n")
    args = {
        "run": ["run", "--config", str(path)],
        "lists": ["lists", "add", "deny", "payee", "X1", "--config", str(path)],
    }[command]
    env = {k: v for k, v in os.environ.items() if k != "RISKFLOW_TEST_UNSET_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0] == (
        f"riskflow: {path}: kafka.client.sasl.password_env: "
        "environment variable RISKFLOW_TEST_UNSET_PASSWORD is not set"
    )


SECURE_REDIS = """\
redis:
  url: rediss://redis.bank.internal:6380/0
  key_prefix: rf
  username: riskflow
  password_env: RISKFLOW_REDIS_PASSWORD
  ssl_ca_file: /etc/riskflow/ca.pem
  ssl_cert_file: /etc/riskflow/client.pem
  ssl_key_file: /etc/riskflow/client.key
  ssl_cert_reqs: optional
  ssl_check_hostname: false
"""


def test_the_redis_security_keys_load(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(SECURE_REDIS)
    redis = load_settings(path, env={}).redis
    assert redis is not None
    assert (redis.username, redis.password_env, redis.ssl_cert_reqs) == (
        "riskflow",
        "RISKFLOW_REDIS_PASSWORD",
        "optional",
    )
    assert (redis.ssl_ca_file, redis.ssl_key_file, redis.ssl_check_hostname) == (
        "/etc/riskflow/ca.pem",
        "/etc/riskflow/client.key",
        False,
    )
    # The section holds no secret, only where to find it.
    assert "password" not in {f.name for f in msgspec.structs.fields(type(redis))}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "redis: {password_enf: X}\n",
            "redis.password_enf: unknown key (did you mean `password_env`?)",
        ),
        ("redis: {ssl_ca: ca.pem}\n", "redis.ssl_ca: unknown key"),
        ("redis: {ssl_cert_reqs: always}\n", "redis.ssl_cert_reqs: invalid enum value 'always'"),
        ("redis: {ssl_check_hostname: maybe}\n", "redis.ssl_check_hostname: expected `bool`"),
        (
            "redis: {url: 'redis://r:6379/0', ssl_ca_file: ca.pem}\n",
            "redis: ssl_ca_file, ssl_cert_file and ssl_key_file need a rediss:// url",
        ),
        (
            "redis: {url: 'rediss://r:6380/0', ssl_key_file: k.pem}\n",
            "redis: ssl_key_file needs ssl_cert_file",
        ),
        (
            "redis: {password_env: P, password_file: /run/p}\n",
            "redis: give password_env or password_file, not both",
        ),
        (
            "redis: {url: 'redis://:pw@r:6379/0', password_env: P}\n",
            "redis: the url carries a password and password_env/_file another",
        ),
        (
            "redis: {username: riskflow, username_file: /run/u}\n",
            "redis: give one of username, username_env and username_file",
        ),
        (
            "redis: {url: 'redis://rf@r:6379/0', username_env: U}\n",
            "redis: the url carries a user name and username/_env/_file another",
        ),
        ("redis: {key_prefix: 'rf*'}\n", "redis: key_prefix must be non-empty"),
        ("redis: {url: 'http://r:6379'}\n", "redis: url must be redis://, rediss:// or unix://"),
    ],
)
def test_a_wrong_redis_security_key_is_one_line(tmp_path, text, where):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert f"{path}: {where}" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("models: {backend: redis}\n", "models.backend: redis needs models.signing_key_env"),
        (
            "models: {backend: redis, signing_key_env: K, recipe: arf}\n",
            "models.recipe 'arf' cannot be shared",
        ),
        ("models: {signing_key_fil: /k}\n", "models.signing_key_fil: unknown key"),
    ],
)
def test_a_redis_model_store_needs_a_signing_key_and_a_shareable_recipe(tmp_path, text, where):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert where in str(caught.value) and "\n" not in str(caught.value)


def test_redis_url_from_the_environment_is_checked_against_the_section(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(SECURE_REDIS)
    moved = load_settings(path, env={"REDIS_URL": "rediss://other:6380/1"}).redis
    assert moved is not None and moved.url == "rediss://other:6380/1"
    assert moved.password_env == "RISKFLOW_REDIS_PASSWORD"
    with pytest.raises(ConfigError, match=r"REDIS_URL: ssl_ca_file, .* need a rediss:// url"):
        load_settings(path, env={"REDIS_URL": "redis://other:6379/0"})


def test_the_signing_key_comes_from_the_environment_or_a_file(tmp_path):
    from riskflow.flows.models import snapshot_signer

    key_file = tmp_path / "snapshot.key"
    key_file.write_text("k" * 40 + "\n" + "o" * 40 + "\n")
    path = tmp_path / "c.yaml"
    path.write_text(f"models: {{backend: redis, signing_key_file: {key_file}}}\n")
    by_file = snapshot_signer(load_settings(path, env={}).models, env={})
    by_env = snapshot_signer(
        msgspec.structs.replace(
            load_settings(path, env={}).models, signing_key_file=None, signing_key_env="K"
        ),
        env={"K": "o" * 40},
    )
    # The file's first key signs; its second still verifies: a rotation in progress.
    assert by_file.verify(b"x", by_env.sign(b"x")) and not by_env.verify(b"x", by_file.sign(b"x"))


@pytest.mark.parametrize(
    ("models", "env", "said"),
    [
        ("{backend: redis}", {}, "needs models.signing_key_env"),
        ("{backend: redis, signing_key_env: RF_KEY}", {}, "$RF_KEY is not set"),
        ("{backend: redis, signing_key_env: RF_KEY}", {"RF_KEY": "tiny-key"}, "shorter than 32"),
        ("{backend: redis, signing_key_file: nokey}", {}, "nokey: No such file"),
    ],
)
def test_run_without_a_usable_signing_key_refuses_to_start_in_one_line(tmp_path, models, env, said):
    path = tmp_path / "c.yaml"
    path.write_text(f"redis: {{url: 'redis://127.0.0.1:1/0'}}\nmodels: {models}\n")
    environ = {k: v for k, v in os.environ.items() if k not in ("RF_KEY", "REDIS_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environ, **env},
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "tiny-key" not in done.stderr  # no key echoed
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0]


def test_models_switched_off_need_no_signing_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("models: {enabled: false, backend: redis}\n")
    assert load_settings(path, env={}).models.enabled is False
