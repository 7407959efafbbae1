"""Every planned vLLM CUDA install resolves completely - all dependencies, Linux x86_64, the Python the plan picks -
against the package index reachable here, resolved by uv for that platform (no GPU, nothing installed). The CUDA
runtime the resolution brings must be the one the catalog says the release links (nvidia-cuda-runtime 13.0.x for
cu130, nvidia-cuda-runtime-cu12 12.8.x for cu128). PyTorch's own index (what --torch-backend selects on a host) is not
reachable here: PyPI's torch builds of these pins are the same CUDA major, which is what this shows.
Report: $FLEET_CACHE/reports/engine-resolve.txt.
"""
import re
import subprocess

import pytest
from ansible.module_utils.gpu_catalog import CUDA_VARIANTS, VLLM_CUDA_WHEELS
from ansible.module_utils.serving_planner import build_serving_plan

from fixture_loader import load_facts
from lab_host import CACHE

REPORT = CACHE / "reports" / "engine-resolve.txt"
# the host Pythons of the supported distributions: Ubuntu 22.04, Debian 12, Ubuntu 24.04, Debian 13
HOST_PYTHONS = ("3.10.12", "3.11.2", "3.12.3", "3.13.5")


@pytest.fixture(scope="module", autouse=True)
def fresh_report():
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("vLLM CUDA installs resolved by uv for x86_64-manylinux_2_28 against the package index\n")


def resolve(requirement, python):
    result = subprocess.run(["uv", "pip", "compile", "-", "--python-version", python, "--python-platform",
                             "x86_64-manylinux_2_28", "--no-header", "--quiet"], input=requirement, text=True,
                            capture_output=True, timeout=600)
    assert result.returncode == 0, "%s on Python %s does not resolve:\n%s" % (requirement, python, result.stderr[-3000:])
    return dict(line.split("==", 1) for line in result.stdout.splitlines() if "==" in line and not line.startswith("#"))


@pytest.mark.parametrize("version", sorted(VLLM_CUDA_WHEELS))
@pytest.mark.parametrize("host_python", HOST_PYTHONS)
def test_planned_install_resolves_with_the_cuda_runtime_the_wheel_links(version, host_python):
    plan = build_serving_plan(load_facts("h200"), vllm_version=version, host="h200", host_python=host_python)
    build = plan["build"]
    python = build["python"]["version"]
    pins = resolve("\n".join(build["packages"]) + "\n", python)
    facts = VLLM_CUDA_WHEELS[version]
    assert pins["torch"] == facts["torch"]
    runtime = {name: pin for name, pin in pins.items() if re.match(r"nvidia-cuda-runtime(-cu\d+)?$", name)}
    assert len(runtime) == 1, runtime
    cuda = CUDA_VARIANTS[build["torch_backend"]][0]
    (name, pin), = runtime.items()
    assert pin.split(".")[:2] == cuda.split("."), (name, pin, cuda)
    with open(REPORT, "a") as report:
        report.write("vLLM %s, host python3 %s -> %s Python %s: %s resolves (%d packages): torch %s, %s %s, "
                     "flashinfer-python %s\n" % (version, host_python, build["python"]["source"], python,
                                                 " ".join(build["packages"]), len(pins), pins["torch"], name, pin,
                                                 pins.get("flashinfer-python", "-")))
