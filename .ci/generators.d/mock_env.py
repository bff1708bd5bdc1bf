"""The mocks `.ci/generators` started, as it hands them to the Python scripts beside this file
(flow.py, scenario.py) in the environment: one place that reads those variables.

    OPX_BASE_URL       the script's main mock (its /api/v1)
    OPX_TOKEN          the token every mock accepts
    OPX_<NAME>_URL     another mock, for the scripts that get one (see `mock_url`)

The scripts import it as `mock_env`: Python puts a script's own folder first on `sys.path`.
"""

import os

BASE = os.environ["OPX_BASE_URL"]
TOKEN = os.environ["OPX_TOKEN"]


def mock_url(name: str) -> str:
    """The /api/v1 of another mock the script was given: `OPX_<NAME>_URL` (e.g. POOR, LIMITED)."""
    return os.environ[f"OPX_{name}_URL"]
