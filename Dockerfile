# The "lab" service of docker-compose.yml: JupyterLab with the workbook and the chat installed.
#   docker compose up -d          then   docker compose logs lab   for the URL with its token
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A font with Japanese glyphs, so that the Japanese edition's plots can label themselves in
# Japanese (workbook/benchplots.py keeps English labels where no such font is installed).
# nginx and PostgreSQL's server programs for notebook 08's cluster, which runs its own
# (workbook/cluster.py): Debian's PostgreSQL makes no cluster of its own here, as
# scripts/ensure-postgres asks, and neither server is started by the image
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/asgi-workbook.conf \
    && apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk nginx postgresql \
    && rm -rf /var/lib/apt/lists/*

# A non-root user. UID 1000 is the first user on most Linux laptops, so files it writes
# into the bind-mounted notebooks/ and workspace/ folders belong to the attendee.
ARG USER_UID=1000
ARG USER_GID=1000
RUN groupadd --gid "${USER_GID}" lab \
    && useradd --uid "${USER_UID}" --gid lab --create-home --shell /bin/bash lab \
    && install -d -o lab -g lab /home/lab/asgi-workbook

WORKDIR /home/lab/asgi-workbook

# The pinned dependencies first, so that editing the repo does not reinstall them
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Then the repo, owned by the user: the chat writes chatproject/db.sqlite3, attendees write
# workspace/. The workbook package is installed in place, as outside Docker, and the
# translations compiled (.po to .mo), as make setup compiles them
COPY --chown=lab:lab . .
RUN pip install --no-deps -e . \
    && python -m workbook compile-messages \
    && install -d -o lab -g lab notebooks workspace

USER lab

# JupyterLab's settings and kernel spec from the repository's jupyter/ folder, as make lab
# (workbook/lab.py) and Binder's start script use them
ENV JUPYTER_CONFIG_PATH=/home/lab/asgi-workbook/jupyter \
    JUPYTER_PATH=/home/lab/asgi-workbook/jupyter

EXPOSE 8888

# 0.0.0.0 inside the container only: docker-compose.yml publishes 8888 on the host's
# 127.0.0.1. Token authentication stays on; the log shows the URL with the token. Chat servers
# that notebooks start listen on the container's 127.0.0.1, and the host's browser opens them
# through JupyterLab's proxy (jupyter-server-proxy, from requirements.txt), at the address
# docker-compose.yml gives the notebooks as WORKBOOK_JUPYTER_URL.
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", \
     "--ServerApp.root_dir=/home/lab/asgi-workbook/notebooks"]
