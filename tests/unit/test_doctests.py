"""The examples in driftd's docstrings run, one test per module that has any.

Docstring examples are documentation that must stay true (each concept-drift detector
pins the index where it fires, as river's does); pytest does not collect them from a
package outside ``testpaths`` by itself, so this module does.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import driftd

PACKAGE = Path(driftd.__file__).parent


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(driftd.__path__, "driftd."):
        if info.name.endswith("__main__"):  # importing it runs the CLI
            continue
        relative = info.name.removeprefix("driftd.").replace(".", "/")
        path = PACKAGE / f"{relative}.py"
        if not path.exists():
            path = PACKAGE / relative / "__init__.py"
        if ">>> " in path.read_text():
            names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_the_concept_detectors_and_others_have_examples():
    assert {"driftd.detectors.concept.adwin", "driftd.detectors.concept.ddm",
            "driftd.detectors.concept.hddm_a", "driftd.detectors.concept.page_hinkley",
            "driftd.durations", "driftd.detectors.readings"} <= set(MODULES)  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
