# One image for the three process types (see Procfile and README "Deploying").
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 APP_ENV=production PORT=8000
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY wsgi.py gunicorn.conf.py Procfile ./
COPY project/ project/
RUN useradd --system --uid 10001 app && mkdir -p instance && chown app instance
USER app
EXPOSE 8000
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
