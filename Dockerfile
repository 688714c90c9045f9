# A woosync worker image: the locked Python packages and the project, nothing else.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY streams streams
COPY agents agents
COPY tables tables
COPY schemas schemas
RUN pip install --no-cache-dir --no-deps -e .
ENV WOOSYNC_DATA_DIR=/var/lib/woosync WOOSYNC_WEB_HOST=0.0.0.0
EXPOSE 6066
CMD ["python", "-m", "streams.cli", "worker"]
