"""The ``services`` fixture: the project's services (``scripts/services.sh up``), or a skip saying why.

The tests run inside the services' network namespace (``scripts/services.sh exec pytest ...``, as
``.ci/run`` does) and are skipped, with the reason, when the services are not up or the test
process is outside that namespace.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .support import SERVICE_PREFIX, UP_HINT, Services


@pytest.fixture(scope="session")
def services() -> Services:
    values = {var: os.environ.get(SERVICE_PREFIX + var) for var in
              ("RAY_ADDRESS", "MLFLOW_TRACKING_URI", "CPT_SEARCH_OPTUNA_STORAGE", "CPT_SEARCH_SERVICES_NETNS_PID",
               "CPT_SEARCH_SERVICES_DIR")}
    missing = [k for k, v in values.items() if not v]
    if missing:
        pytest.skip(f"the services are not up ({', '.join(missing)} unset): {UP_HINT}")
    holder = int(values["CPT_SEARCH_SERVICES_NETNS_PID"])
    try:
        theirs = os.readlink(f"/proc/{holder}/ns/net")
    except OSError:
        pytest.skip(f"the services' namespace (pid {holder}) is gone: {UP_HINT}")
    if theirs != os.readlink("/proc/self/ns/net"):
        pytest.skip(f"this test runs outside the services' network namespace: {UP_HINT}")
    return Services(ray_address=values["RAY_ADDRESS"], tracking_uri=values["MLFLOW_TRACKING_URI"],
                    optuna_storage=values["CPT_SEARCH_OPTUNA_STORAGE"], netns_pid=holder,
                    state_dir=Path(values["CPT_SEARCH_SERVICES_DIR"]))

