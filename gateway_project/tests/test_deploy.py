"""The deployment files: the entrypoint runs outside Docker, compose.yaml and the Dockerfile keep their promises."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

from testing.servers import ROOT

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
STRONG = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "JWT_SECRET": secrets.token_urlsafe(48),
    "ENCRYPTION_MASTER_KEY": secrets.token_hex(32),
}


def _entrypoint(*args: str, **env: str) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(["sh", str(ENTRYPOINT), *args], cwd="/", capture_output=True, text=True, timeout=60,
                          env={**os.environ, **STRONG, "PATH": path, **env})


def test_entrypoint_manage_runs_management_commands():
    result = _entrypoint("manage", "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_entrypoint_stops_in_one_line_on_a_weak_secret():
    result = _entrypoint("manage", "check", ENCRYPTION_MASTER_KEY="abc")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "ENCRYPTION_MASTER_KEY" in result.stderr


def test_entrypoint_web_migrates_first_and_stops_on_a_weak_secret():
    result = _entrypoint("web", JWT_SECRET="short")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: JWT_SECRET is missing or shorter than 32 bytes; make one with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    ]


def test_entrypoint_subcommands_are_the_documented_ones():
    script = ENTRYPOINT.read_text()
    assert os.access(ENTRYPOINT, os.X_OK)
    assert "exec uvicorn gateway_project.asgi:application --host 0.0.0.0 --port 8000" in script
    assert '--workers "${WEB_CONCURRENCY:-2}"' in script
    assert script.index("manage.py migrate") < script.index("exec uvicorn")
    assert "exec celery -A gateway_project worker" in script
    assert "exec python manage.py write_request_logs --heartbeat /tmp/log-writer.alive" in script
    assert "exec celery -A gateway_project beat" in script and "--schedule /tmp/" in script
    result = _entrypoint("python", "-c", "print('passthrough')")
    assert result.returncode == 0 and result.stdout.strip() == "passthrough"


def test_compose_runs_the_six_services_safely():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "log-writer", "worker", "beat"}
    for name, service in services.items():
        assert "test" in service["healthcheck"], name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert "http://127.0.0.1:8000/health/ready" in " ".join(services["web"]["healthcheck"]["test"])
    for name, command in {"web": ["web"], "log-writer": ["log-writer"], "worker": ["worker"], "beat": ["beat"]}.items():
        service = services[name]
        assert service["command"] == command
        assert service["env_file"] == ".env"
        assert service["read_only"] is True and "/tmp" in service["tmpfs"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "environment" not in service  # secrets come only from .env
    assert "POSTGRES_PASSWORD" in services["postgres"]["environment"]
    assert "${POSTGRES_PASSWORD" in (ROOT / "compose.yaml").read_text()
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]


def test_dockerfile_is_slim_non_root_and_secret_free():
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith((" ", "#"))]
    assert instructions[0] == "FROM python:3.12-slim"
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    for line in instructions:
        if line.startswith(("ENV", "ARG", "LABEL")):
            assert not re.search(r"SECRET|PASSWORD|MASTER_KEY|API_KEY", line), line
    assert "collectstatic --noinput" in dockerfile
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".local-secrets.json", ".venv", ".git"} <= set(ignored)


def _variables_read_by_config() -> set[str]:
    source = (ROOT / "gateway_project" / "config.py").read_text()
    return set(re.findall(r'env(?:\.get)?\(\s*"([A-Z][A-Z0-9_]+)"', source)) | set(
        re.findall(r'_int\(env, "([A-Z][A-Z0-9_]+)"', source)
    )


def test_env_example_documents_every_variable_config_reads():
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    read = _variables_read_by_config()
    assert len(read) >= 25
    assert read - documented == set()
    for name, maker in [("DJANGO_SECRET_KEY", "token_urlsafe(50)"), ("JWT_SECRET", "token_urlsafe(48)"),
                        ("ENCRYPTION_MASTER_KEY", "token_hex(32)")]:
        assert re.search(rf"^{name}=$", example, re.MULTILINE), f"{name} must ship empty"
        block = example[: example.index(f"\n{name}=")].rsplit("\n\n", 1)[-1]
        assert f"python -c 'import secrets; print(secrets.{maker})'" in block
