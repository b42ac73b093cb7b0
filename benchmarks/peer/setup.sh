#!/bin/sh
# Set-up of the Celery + Redis peer benchmark, bench only: Debian's redis-server when missing,
# and the peer's Python packages into the given interpreter's environment. Safe to run again.
#
#     benchmarks/peer/setup.sh .venv/bin/python
set -eu

python=${1:-.venv/bin/python}
here=$(dirname "$0")

if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The package's own service is not wanted: the benchmark starts its own servers.
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

if ! "$python" -c "import celery, redis" >/dev/null 2>&1; then
    echo "installing the peer's Python packages"
    "$python" -m pip install -q -r "$here/requirements.txt"
fi
