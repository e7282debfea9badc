"""Configuration: one env reader with working defaults; with DEBUG off, weak secrets stop start-up in one line."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from gateway_project import config
from testing.servers import ROOT

STRONG = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "JWT_SECRET": secrets.token_urlsafe(48),
    "ENCRYPTION_MASTER_KEY": secrets.token_hex(32),
}

WEAK = [
    ("DJANGO_SECRET_KEY", None, "secrets.token_urlsafe(50)"),
    ("DJANGO_SECRET_KEY", "x" * 20, "secrets.token_urlsafe(50)"),
    ("DJANGO_SECRET_KEY", "changeme" + secrets.token_urlsafe(50), "secrets.token_urlsafe(50)"),
    ("DJANGO_SECRET_KEY", "ab" * 30, "secrets.token_urlsafe(50)"),
    ("JWT_SECRET", None, "secrets.token_urlsafe(48)"),
    ("JWT_SECRET", "y" * 31, "secrets.token_urlsafe(48)"),
    ("ENCRYPTION_MASTER_KEY", None, "secrets.token_hex(32)"),
    ("ENCRYPTION_MASTER_KEY", secrets.token_hex(32)[:63], "secrets.token_hex(32)"),
    ("ENCRYPTION_MASTER_KEY", "g" * 64, "secrets.token_hex(32)"),
]


def _env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, **STRONG}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("name", "value", "fix"), WEAK, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WEAK)])
def test_manage_refuses_a_weak_secret_in_one_line(name, value, fix):
    result = _run([sys.executable, "manage.py", "check"], _env(**{name: value}))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0] and f"python -c 'import secrets; print({fix})'" in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    if value:
        assert value not in result.stderr  # the rejected secret itself is never echoed


def test_manage_check_passes_with_strong_secrets():
    result = _run([sys.executable, "manage.py", "check"], _env())
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_asgi_server_refuses_a_weak_secret_in_one_line():
    result = _run([sys.executable, "-m", "uvicorn", "gateway_project.asgi:application", "--port", "0"],
                  _env(JWT_SECRET="short"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: JWT_SECRET is missing or shorter than 32 bytes; make one with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    ]


def test_load_defaults_make_the_embedded_mode_work():
    cfg = config.load({**STRONG})
    assert cfg.debug is False and cfg.embedded is True
    assert cfg.allowed_hosts == ["127.0.0.1", "localhost"]
    assert cfg.database_url.startswith("sqlite:///") and cfg.redis_url is None and cfg.celery_broker_url is None
    assert cfg.openrouter_base_url == "https://openrouter.ai/api/v1" and cfg.openrouter_api_keys == []
    assert cfg.admin_email == "admin@localhost" and cfg.admin_password is None
    assert (cfg.default_rpm, cfg.default_tpm) == (config.DEFAULT_RPM, config.DEFAULT_TPM)
    assert cfg.redis_failure_mode == "open" and cfg.registration_open is False


def test_load_reads_every_documented_variable():
    cfg = config.load({
        **STRONG, "ALLOWED_HOSTS": "a.example, b.example", "DATABASE_URL": "postgres://u@h/db",
        "REDIS_URL": "redis://r:6379/0", "CELERY_BROKER_URL": "redis://r:6379/1",
        "OPENROUTER_BASE_URL": "http://up.example/api/v1/", "OPENROUTER_API_KEYS": "k1, k2,",
        "ADMIN_EMAIL": "boss@example.com", "ADMIN_PASSWORD": "pw", "GATEWAY_DEFAULT_RPM": "7",
        "GATEWAY_DEFAULT_TPM": "70", "REDIS_FAILURE_MODE": "Closed",
    })
    assert cfg.allowed_hosts == ["a.example", "b.example"] and cfg.database_url == "postgres://u@h/db"
    assert cfg.redis_url == "redis://r:6379/0" and cfg.celery_broker_url == "redis://r:6379/1"
    assert cfg.openrouter_base_url == "http://up.example/api/v1" and cfg.openrouter_api_keys == ["k1", "k2"]
    assert (cfg.admin_email, cfg.admin_password, cfg.default_rpm, cfg.default_tpm) == ("boss@example.com", "pw", 7, 70)
    assert cfg.redis_failure_mode == "closed" and cfg.embedded is False
    assert cfg.log_queue == "memory"
    assert config.load({**STRONG, "REDIS_URL": "redis://r:6379/0", "GATEWAY_LOG_QUEUE": " Redis "}).log_queue == "redis"


def test_agent_and_orchestrator_limits_default_to_their_former_constants_and_can_be_set():
    limits = ("agent_max_tool_rounds", "agent_max_models", "orchestrator_max_models", "orchestrator_default_models",
              "synthesis_max_models")
    assert [getattr(config.load({**STRONG}), name) for name in limits] == [4, 4, 6, 3, 3]
    cfg = config.load({**STRONG, "GATEWAY_AGENT_MAX_TOOL_ROUNDS": "0", "GATEWAY_AGENT_MAX_MODELS": "2",
                       "GATEWAY_ORCHESTRATOR_MAX_MODELS": "9", "GATEWAY_ORCHESTRATOR_DEFAULT_MODELS": "5",
                       "GATEWAY_SYNTHESIS_MAX_MODELS": "1"})
    assert [getattr(cfg, name) for name in limits] == [0, 2, 9, 5, 1]


def test_opentelemetry_is_off_unless_an_endpoint_is_set():
    assert config.load({**STRONG}).otel_endpoint is None
    assert config.load({**STRONG, "OTEL_EXPORTER_OTLP_ENDPOINT": " http://127.0.0.1:4318 "}).otel_endpoint == \
        "http://127.0.0.1:4318"


@pytest.mark.parametrize(
    ("name", "value"),
    [("GATEWAY_DEFAULT_RPM", "many"), ("REDIS_FAILURE_MODE", "sometimes"), ("ENCRYPTION_PREVIOUS_KEYS", "abc"),
     ("GATEWAY_ORCHESTRATOR_MAX_MODELS", "0"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
     ("GATEWAY_LOG_QUEUE", "kafka"), ("GATEWAY_LOG_QUEUE", "redis")],  # redis without REDIS_URL
)
def test_load_rejects_unusable_values_naming_the_variable(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load({**STRONG, name: value})


def test_debug_mode_accepts_given_secrets_without_the_strength_check():
    cfg = config.load({"DJANGO_DEBUG": "1", "DJANGO_SECRET_KEY": "dev", "JWT_SECRET": "dev",
                       "ENCRYPTION_MASTER_KEY": STRONG["ENCRYPTION_MASTER_KEY"]})
    assert cfg.debug is True and cfg.secret_key == "dev"


def _write(path, text: str):
    path.write_text(text)
    return path


def test_env_file_supplies_what_the_real_environment_lacks_and_the_environment_wins(tmp_path):
    env_file = _write(tmp_path / "gateway.env", "# written by make run\nDJANGO_DEBUG=1\n"
                      "export ADMIN_EMAIL='boss@example.test'\nOPENROUTER_BASE_URL=http://from-file/api/v1\n")
    env = config.environment({"GATEWAY_ENV_FILE": str(env_file), "OPENROUTER_BASE_URL": "http://real/api/v1"})
    assert env["DJANGO_DEBUG"] == "1"
    assert env["ADMIN_EMAIL"] == "boss@example.test"
    assert env["OPENROUTER_BASE_URL"] == "http://real/api/v1"


def test_checkout_env_file_is_read_by_default_and_an_empty_name_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "ENV_FILE", _write(tmp_path / ".env", "OPENROUTER_API_KEYS=sk-or-from-file\n"))
    assert config.environment({})["OPENROUTER_API_KEYS"] == "sk-or-from-file"
    assert "OPENROUTER_API_KEYS" not in config.environment({"GATEWAY_ENV_FILE": ""})


def test_missing_checkout_env_file_is_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "ENV_FILE", tmp_path / ".env")
    assert config.environment({"ADMIN_EMAIL": "a@b.test"}) == {"ADMIN_EMAIL": "a@b.test"}


def test_missing_named_env_file_stops_with_the_variable_named(tmp_path):
    with pytest.raises(config.ConfigError, match="GATEWAY_ENV_FILE"):
        config.environment({"GATEWAY_ENV_FILE": str(tmp_path / "absent.env")})


def test_load_reads_the_env_file_when_given_no_mapping(tmp_path, monkeypatch):
    env_file = _write(tmp_path / "strong.env", "".join(f"{k}={v}\n" for k, v in STRONG.items()) + "ADMIN_EMAIL=file@x.test\n")
    monkeypatch.setattr(config.os, "environ", {"GATEWAY_ENV_FILE": str(env_file)})
    cfg = config.load()
    assert cfg.admin_email == "file@x.test" and cfg.secret_key == STRONG["DJANGO_SECRET_KEY"]


def test_suite_never_reads_a_developers_env_file(tmp_path, monkeypatch):
    from django.conf import settings

    monkeypatch.setattr(config, "ENV_FILE", _write(tmp_path / ".env", "DJANGO_DEBUG=1\nOPENROUTER_API_KEYS=sk-or-dev\n"))
    assert os.environ["GATEWAY_ENV_FILE"] == ""  # set by testing/env.py, inherited by every server the suite starts
    env = config.environment()
    assert env.get("OPENROUTER_API_KEYS") != "sk-or-dev" and env.get("DJANGO_DEBUG") == "0"
    assert settings.GATEWAY.debug is False


def test_passthrough_paths_default_and_parse_as_plain_prefixes():
    assert config.load(_env(GATEWAY_PASSTHROUGH_PATHS=None)).passthrough_paths == ("providers",)
    loaded = config.load(_env(GATEWAY_PASSTHROUGH_PATHS=" /embeddings/ , models/x:free/endpoints", GATEWAY_PASSTHROUGH="0"))
    assert loaded.passthrough_paths == ("embeddings", "models/x:free/endpoints") and loaded.passthrough is False
    assert config.load(_env(GATEWAY_PASSTHROUGH_PATHS="")).passthrough_paths == ()


@pytest.mark.parametrize("value", ["../_sim", "embeddings/..", "a//b", "emb?x", "%2e%2e", "a b"])
def test_a_passthrough_path_that_could_escape_stops_start_up_naming_the_variable(value):
    with pytest.raises(config.ConfigError, match="GATEWAY_PASSTHROUGH_PATHS"):
        config.load(_env(GATEWAY_PASSTHROUGH_PATHS=value))


def test_cors_origins_are_parsed_and_a_bad_one_stops_start_up():
    assert config.load({**STRONG}).cors_origins == ()
    cfg = config.load({**STRONG, "GATEWAY_CORS_ORIGINS": " https://a.example , http://localhost:3000/ "})
    assert cfg.cors_origins == ("https://a.example", "http://localhost:3000")
    assert config.load({**STRONG, "GATEWAY_CORS_ORIGINS": "*"}).cors_origins == ("*",)
    with pytest.raises(config.ConfigError, match="GATEWAY_CORS_ORIGINS"):
        config.load({**STRONG, "GATEWAY_CORS_ORIGINS": "https://a.example/path"})
