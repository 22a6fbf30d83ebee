FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static files are collected into the image (whitenoise serves them). The settings need a key to
# load; this one is random, used for this step only and kept nowhere.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput -v 0

RUN useradd --create-home engage && mkdir -p /app/var/media && chown -R engage /app/var
USER engage
EXPOSE 8000
# No built-in key: the container refuses to start without one. Then migrate (idempotent) and serve
# with ./gunicorn.conf.py (gthread workers, PORT, WEB_CONCURRENCY, GUNICORN_THREADS).
CMD ["sh", "-c", ": \"${SECRET_KEY:?Set SECRET_KEY to a long random value}\" && python manage.py migrate --noinput && exec gunicorn engage.wsgi"]
