"""Load a GPU fixture folder (tests/fixtures/gpus/NAME) into gpu facts, the way gpu_facts reads replays."""
import pathlib

import yaml
from ansible.module_utils.gpu_inventory import facts_from_sources

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "gpus"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yml").exists())


def _text(folder, *names):
    for name in names:
        if (folder / name).exists():
            return (folder / name).read_text()
    return None


def replay_options(name):
    folder = FIXTURES / name
    return {
        "sysfs_root": str(folder / "sysfs") if (folder / "sysfs").is_dir() else None,
        "lspci_output": _text(folder, "lspci.txt"),
        "nvidia_smi_output": _text(folder, "nvidia-smi.csv", "nvidia-smi.xml", "nvidia-smi.txt"),
        "rocm_smi_output": _text(folder, "rocm-smi.json", "rocm-smi.txt"),
        "rocminfo_output": _text(folder, "rocminfo.txt"),
    }


def load_facts(name, include_integrated=False):
    o = replay_options(name)
    return facts_from_sources(sysfs_root=o["sysfs_root"], lspci_text=o["lspci_output"],
                              nvidia_smi_text=o["nvidia_smi_output"], rocm_smi_text=o["rocm_smi_output"],
                              rocminfo_text=o["rocminfo_output"], include_integrated=include_integrated)


def expected(name):
    return yaml.safe_load((FIXTURES / name / "expected.yml").read_text())


def dig(mapping, dotted):
    value = mapping
    for part in dotted.split("."):
        value = value[part]
    return value
