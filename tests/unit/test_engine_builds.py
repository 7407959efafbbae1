"""The catalog's engine-build facts, checked against the REAL release wheels (tests/env/vllm-parsers.sh downloads
them with `pip download --no-deps`): Requires-Python, the torch pin, the FlashInfer pin, the CUDA runtime their
extensions link (ELF DT_NEEDED, read by the same reader the engine gate uses on hosts), and every environment name a
plan sets, looked up in that release's own vllm/envs.py. Then the plans built from those facts are consistent:
CUDA major -> torch backend -> driver branch, a Python the release accepts.
"""
import email.parser
import os
import pathlib
import re
import zipfile

import pytest
from ansible.module_utils.elf_deps import needed_libraries
from ansible.module_utils.engine_build import python_for_release, python_satisfies
from ansible.module_utils.gpu_catalog import CUDA_VARIANTS, VLLM_CPU_REQUIRES_PYTHON, VLLM_CUDA_WHEELS, VLLM_RELEASES
from ansible.module_utils.serving_planner import build_serving_plan
from packaging.specifiers import SpecifierSet

from fixture_loader import load_facts

CACHE = pathlib.Path(os.environ.get("FLEET_CACHE", "/var/cache/gpt-oss-fleet"))


class Wheel(object):
    """What a release wheel says about itself."""
    cache = {}

    def __init__(self, path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
            self.metadata = email.parser.Parser().parsestr(archive.read(meta).decode())
            self.envs = archive.read("vllm/envs.py").decode()
            self.libraries = set()
            for name in names:
                if name.endswith(".so") and name.count("/") == 1:  # vllm/_C.abi3.so and its siblings
                    self.libraries.update(needed_libraries(archive.read(name)))

    @classmethod
    def of(cls, version):
        if version not in cls.cache:
            found = sorted((CACHE / ("wheels/vllm-%s" % version)).glob("vllm-%s-*.whl" % version))
            if not found:
                if os.environ.get("FLEET_REQUIRE_VLLM_PARSERS") == "1":
                    pytest.fail("vLLM %s wheel missing; run tests/env/vllm-parsers.sh" % version)
                pytest.skip("vLLM %s wheel not downloaded (tests/env/vllm-parsers.sh)" % version)
            cls.cache[version] = cls(found[0])
        return cls.cache[version]

    def requirement(self, name):
        """[(specifier, marker)] of a Requires-Dist name."""
        found = []
        for line in self.metadata.get_all("Requires-Dist") or []:
            match = re.match(r"^%s(\[[^\]]*\])?\s*([^;]*)(?:;\s*(.*))?$" % re.escape(name), line)
            if match:
                found.append((match.group(2).strip().strip("()"), match.group(3) or ""))
        return found

    def env_names(self):
        return set(re.findall(r'^\s+"([A-Z][A-Z0-9_]+)":\s*\S', self.envs, re.M))


RELEASES = sorted(VLLM_CUDA_WHEELS)


def test_every_release_with_rules_has_wheel_facts():
    assert sorted(VLLM_RELEASES) == RELEASES


@pytest.mark.parametrize("version", RELEASES)
def test_requires_python_is_the_wheels(version):
    wanted = VLLM_CUDA_WHEELS[version]["requires_python"]
    assert SpecifierSet(Wheel.of(version).metadata["Requires-Python"]) == SpecifierSet(wanted)


@pytest.mark.parametrize("version", RELEASES)
def test_torch_and_flashinfer_pins_are_the_wheels(version):
    wheel, facts = Wheel.of(version), VLLM_CUDA_WHEELS[version]
    assert ("==%s" % facts["torch"], "") in wheel.requirement("torch")
    flashinfer = wheel.requirement("flashinfer-python")
    assert any(spec == "==%s" % facts["flashinfer"] for spec, _ in flashinfer), flashinfer
    markers = [marker for spec, marker in flashinfer if spec == "==%s" % facts["flashinfer"]]
    if facts["flashinfer_extra"]:
        assert any('extra == "%s"' % facts["flashinfer_extra"] in m for m in markers), markers
    else:
        assert "" in markers, "flashinfer is only an extra in %s: %s" % (version, markers)


@pytest.mark.parametrize("version", RELEASES)
def test_cuda_major_is_what_the_extensions_link(version):
    libraries = Wheel.of(version).libraries
    cudart = sorted(lib for lib in libraries if lib.startswith("libcudart.so."))
    assert cudart == ["libcudart.so.%d" % VLLM_CUDA_WHEELS[version]["cuda_major"]], sorted(libraries)


@pytest.mark.parametrize("version", RELEASES)
def test_torch_backend_and_driver_branch_follow_from_the_linked_cuda(version):
    wheel_major = int(sorted(lib for lib in Wheel.of(version).libraries if lib.startswith("libcudart.so."))[0]
                      .rsplit(".", 1)[1])
    plan = build_serving_plan(load_facts("h200"), vllm_version=version, host="h200", host_python="3.12.3")
    cuda, min_driver, branch = CUDA_VARIANTS[plan["build"]["torch_backend"]]
    assert int(cuda.split(".")[0]) == wheel_major
    assert plan["driver"]["branch"] == branch and plan["driver"]["cuda"] == cuda
    assert plan["build"]["gate"]["library"] == "libcudart.so.%d" % wheel_major
    if wheel_major >= 13:  # NVIDIA: CUDA 13.x needs a 580 or newer driver
        assert int(branch) >= 580


@pytest.mark.parametrize("version", RELEASES)
@pytest.mark.parametrize("host_python", ["3.10.12", "3.11.2", "3.12.3", "3.13.5", "3.14.0"])
def test_the_planned_python_satisfies_the_wheels_requires_python(version, host_python):
    requires = SpecifierSet(Wheel.of(version).metadata["Requires-Python"])
    plan = build_serving_plan(load_facts("h200"), vllm_version=version, host="h200", host_python=host_python)
    python = plan["build"]["python"]
    assert python["version"] + ".0" in requires, python
    # the host's own python3 is used exactly when the release accepts it; otherwise uv's
    assert (python["source"] == "system") == (host_python in requires), python


@pytest.mark.parametrize("version", ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"])
@pytest.mark.parametrize("requires", [">=3.9,<3.14", ">=3.11,<3.15", ">=3.12,<3.13", "==3.12.*"])
def test_python_satisfies_agrees_with_packaging(version, requires):
    assert python_satisfies(version, requires) == (version + ".0" in SpecifierSet(requires))


@pytest.mark.parametrize("version", sorted(VLLM_CPU_REQUIRES_PYTHON))
def test_vllm_cpu_requires_python_is_the_installed_distributions(version):
    found = sorted(CACHE.glob("vllm-cpu-%s/lib/python3*/site-packages/vllm_cpu-%s.dist-info/METADATA" % (version, version)))
    if not found:
        if os.environ.get("FLEET_REQUIRE_VLLM_PARSERS") == "1":
            pytest.fail("vllm-cpu %s venv missing; run tests/env/vllm-parsers.sh" % version)
        pytest.skip("vllm-cpu %s venv not built (tests/env/vllm-parsers.sh)" % version)
    metadata = email.parser.Parser().parsestr(found[0].read_text())
    assert SpecifierSet(metadata["Requires-Python"]) == SpecifierSet(VLLM_CPU_REQUIRES_PYTHON[version])
    plan = build_serving_plan({"devices": []}, engine="vllm", allow_cpu=True, vllm_version=version,
                              host_python="3.10.12")
    assert plan["build"]["python"]["source"] == "uv" and plan["build"]["python"]["version"] + ".0" in SpecifierSet(
        metadata["Requires-Python"])


def test_rocm_wheels_get_python_312_only():
    assert python_for_release(">=3.12,<3.13", "3.11.2", only="3.12")["source"] == "uv"
    assert python_for_release(">=3.12,<3.13", "3.12.3", only="3.12")["source"] == "system"


@pytest.mark.parametrize("version", RELEASES)
def test_every_env_name_a_plan_sets_exists_in_that_release(version):
    names = Wheel.of(version).env_names()
    assert len(names) > 50, "envs.py not read: %d names" % len(names)
    release = VLLM_RELEASES[version]
    planned = set(release["blackwell_moe_env"]) | set(release["rocm_env"]) | (
        {release["attention_env"]} if release["attention_env"] else set())
    plans = [build_serving_plan(load_facts(name), vllm_version=version, host=name, rocm_variant="rocm700")
             for name in ("b200-8x", "h200", "l4", "a10", "mi300x-8x-azure", "mi350x")]
    for plan in plans:
        planned |= {k for k in plan["env"] if k.startswith(("VLLM_", "AMDGCN_"))}
        for replica in plan["replicas"]:
            planned |= {k for k in replica["env"] if k.startswith("VLLM_")}
    missing = sorted(planned - names)
    assert not missing, "vLLM %s's envs.py has no %s" % (version, ", ".join(missing))


def test_the_env_check_can_fail():
    """Negative control: the name 0.10.2's plans used to set existed only in the 0.10.1 preview."""
    assert "VLLM_USE_FLASHINFER_MXFP4_MOE" not in Wheel.of("0.10.2").env_names()
    assert "VLLM_USE_FLASHINFER_MOE_MXFP4_MXFP8" in Wheel.of("0.10.2").env_names()
    assert "VLLM_USE_FLASHINFER_MOE_MXFP4_MXFP8" not in Wheel.of("0.32.0").env_names()
