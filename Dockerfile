# Images of docker-compose.yml (issue 15): `node` runs one testbed node (python -m testbed node), `harness`
# runs tier7 (verify, soak, Locust master/worker) and carries the docker-compose client so the compose target
# file's kill/pause commands work through the mounted Docker socket.
FROM python:3.11-slim AS node
WORKDIR /work
COPY pyproject.toml constraints.txt README.md ./
COPY tier7 tier7
COPY analysis analysis
COPY chaos chaos
COPY testbed testbed
COPY locustfiles locustfiles
COPY experiments experiments
COPY deploy deploy
RUN pip install --no-cache-dir --quiet -c constraints.txt -e . && pip install --no-cache-dir --quiet --no-deps -e chaos/discovery
ENV PYTHONUNBUFFERED=1
EXPOSE 8000 9000
CMD ["python", "-m", "testbed", "node", "--config", "/cluster/cluster.json", "--name", "g0-us-east"]

FROM node AS harness
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null \
    && rm -rf /var/lib/apt/lists/*
COPY docker-compose.yml ./
ENTRYPOINT ["tier7"]
CMD ["--help"]
