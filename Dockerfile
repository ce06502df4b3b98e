# cpt_search image: the package installed by the same set-up script as the README's commands, whose
# default command runs the quickstart search and exports its knee. The MLflow UI port is exposed.
#
#   docker build -t cpt-search .
#   docker run --rm -v "$PWD:/work" cpt-search                 # quickstart; store + knee in $PWD
#   docker run --rm -p 5000:5000 -v "$PWD:/work" cpt-search cpt-search ui --host 0.0.0.0
#
# GPU users: PyPI's torch 2.14.1 wheels carry their CUDA libraries, so the same image runs on a GPU
# with `docker run --gpus all`; a CUDA base image is selected with a build argument when wanted:
#   docker build --build-arg BASE_IMAGE=nvidia/cuda:13.0.0-cudnn-runtime-ubuntu22.04 -t cpt-search:cuda .
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    RAY_USAGE_STATS_ENABLED=0 \
    RAY_AUTH_MODE=disabled \
    MLFLOW_DISABLE_TELEMETRY=true

# make and git for the README's commands, g++ for the native quantizer kernels; Python 3.11 when the
# base image (CUDA) lacks it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make git ca-certificates g++ \
    && (command -v python3.11 >/dev/null || apt-get install -y --no-install-recommends python3.11 python3.11-venv) \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/cpt_search
COPY . .
# The README's set-up step: virtualenv, pinned dependencies, Debian's Fashion-MNIST.
RUN PYTHON=python3.11 scripts/setup.sh
ENV PATH=/opt/cpt_search/.venv/bin:$PATH

WORKDIR /work
EXPOSE 5000
CMD ["/opt/cpt_search/scripts/quickstart.sh"]
