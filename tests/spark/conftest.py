"""make test-spark: pytest tests/spark. Not collected by `make test` (pyproject's testpaths
name tests/unit and tests/integration only)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
