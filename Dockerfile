# The gateway image: web (uvicorn), Celery worker and beat, selected by docker/entrypoint.sh.
# No secret is baked in: configuration comes from the environment at run time (see .env.example).
# The container runs as a non-root user and works with a read-only root filesystem: it writes
# only to /tmp (a tmpfs in compose.yaml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp

WORKDIR /app

RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin gateway

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# collectstatic needs settings, and settings refuse to load without strong secrets: give it
# throw-away ones that live only in this shell (shell variables are not recorded in any layer).
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    JWT_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    ENCRYPTION_MASTER_KEY="$(python -c 'import secrets; print(secrets.token_hex(32))')" \
    DATABASE_URL="sqlite:////tmp/collectstatic.sqlite3" \
    python manage.py collectstatic --noinput -v 0 \
    && rm -f .env .local-secrets.json /tmp/collectstatic.sqlite3 \
    && chmod 0755 docker/entrypoint.sh

USER gateway:gateway
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
