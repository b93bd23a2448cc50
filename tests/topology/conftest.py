"""The production topology (tests/topology/cluster.py), built once for its checks: `make test-topology`, as root.

These tests carry the `topology` marker and run only when a run asks for that marker
(`pytest -m topology`): `make test`, `.ci/run`'s PostgreSQL pass and a bare `pytest` leave them out.
"""

import os

import cluster as topology
import pytest

FIGURES: dict[str, dict] = {}


def pytest_collection_modifyitems(config, items):
    """Leave the topology out of any run whose marker expression does not name it."""
    if "topology" in (config.option.markexpr or ""):
        return
    left_out = [item for item in items if item.get_closest_marker("topology")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("topology")]


def pytest_terminal_summary(terminalreporter):
    """What each check measured, after the results."""
    if not FIGURES:
        return
    terminalreporter.section("topology: what the checks measured")
    for check, values in FIGURES.items():
        terminalreporter.write_line(f"{check}:")
        for name, value in values.items():
            terminalreporter.write_line(f"    {name}: {value}")


@pytest.fixture(scope="session")
def cluster(request):
    """nginx, two app hosts, PostgreSQL, Redis and an SMTP sink, each in its network namespace."""
    if os.geteuid() != 0:
        pytest.fail("the topology needs root (network namespaces): run `make test-topology` as root")
    built = topology.build()
    # After a failure the work folder stays, with every server's log.
    request.addfinalizer(lambda: built.tear_down(keep_folder=request.session.testsfailed > 0))
    return built


@pytest.fixture
def portal(cluster):
    """The topology, with every attempt counter and lockout of earlier checks forgotten (Redis emptied)."""
    assert cluster.redis("FLUSHDB") == "OK"
    return cluster


@pytest.fixture
def figures(request):
    """Record what a check measured, for the summary at the end of the run."""
    values = FIGURES.setdefault(request.node.name, {})

    def record(**measured):
        """Add measured values (name=value) to this check's figures."""
        values.update(measured)

    return record
