"""Detection formats beyond the fixtures' own assertions: garbage for every replay option fails naming the
option and the first line it could not read; disagreeing sources are noted; hardware readiness warns."""
import pytest
from ansible.module_utils.gpu_inventory import (
    UnreadableSource, disk_kind, facts_from_sources, hardware_readiness, meminfo_mib, parse_rocminfo,
)
from ansible.module_utils.serving_planner import build_serving_plan, plan_table

from fixture_loader import FIXTURES, load_facts, replay_options
from test_gpu_facts_module import run_module

GARBAGE = "<html><body>502 Bad Gateway</body></html>\nsecond line\n"
TEXT_OPTIONS = {"lspci_output": "lspci_text", "nvidia_smi_output": "nvidia_smi_text",
                "rocm_smi_output": "rocm_smi_text", "rocminfo_output": "rocminfo_text"}


@pytest.mark.parametrize("option", sorted(TEXT_OPTIONS))
@pytest.mark.parametrize("garbage", [GARBAGE, "   \n", "{\"not\": \"rocm\"}\n", "index, name\n0, A100, extra\n"])
def test_garbage_fails_naming_the_option_and_the_line(option, garbage):
    with pytest.raises(UnreadableSource) as error:
        facts_from_sources(**{TEXT_OPTIONS[option]: garbage})
    message = str(error.value)
    assert message.startswith(option + ": could not read line "), message
    first = next((line.strip() for line in garbage.splitlines() if line.strip()), "(empty)")
    assert first[:40] in message or "(empty)" in message or "0, A100, extra" in message, message


def test_garbage_names_the_live_command_when_labelled():
    with pytest.raises(UnreadableSource, match=r"^nvidia-smi -q -x: could not read line 1"):
        facts_from_sources(nvidia_smi_text=GARBAGE, labels={"nvidia_smi": "nvidia-smi -q -x"})


def test_truncated_xml_names_its_line():
    xml = (FIXTURES / "v100-4x-xml" / "nvidia-smi.xml").read_text()
    with pytest.raises(UnreadableSource, match="nvidia_smi_output: could not read line"):
        facts_from_sources(nvidia_smi_text=xml[: len(xml) // 2])


def test_nvidia_smi_own_messages_are_not_parse_errors():
    facts = facts_from_sources(nvidia_smi_text="NVIDIA-SMI has failed because it couldn't communicate with the "
                                               "NVIDIA driver. Make sure that the latest NVIDIA driver is installed "
                                               "and running.\n")
    assert facts["summary"]["count"] == 0 and any("couldn't communicate" in n for n in facts["notes"])
    assert facts_from_sources(nvidia_smi_text="No devices were found\n")["summary"]["count"] == 0


def test_module_fails_on_garbage_with_the_option_name():
    result = run_module({"rocminfo_output": GARBAGE})
    assert result["failed"] and result["msg"].startswith("rocminfo_output: could not read line 1: '<html>")


def test_plain_lspci_alone_counts_h100_and_nvswitches():
    facts = facts_from_sources(lspci_text=(FIXTURES / "aws-p5-h100-8x-lspci" / "lspci.txt").read_text())
    summary = facts["summary"]
    assert summary["count"] == 8 and summary["families"] == ["hopper"] and summary["nvswitch_count"] == 4
    assert summary["models"] == ["H100 SXM5 80GB"] and summary["total_memory_mib"] == 8 * 81920


def test_rocminfo_agents_without_uuid_stay_distinct():
    agents = parse_rocminfo((FIXTURES / "mi25-7x-rocminfo" / "rocminfo.txt").read_text())
    assert len(agents) == 7 and sum(1 for a in agents if a["unique_id"] is None) == 6
    assert len({a["pci_address"] for a in agents}) == 7


def test_rocminfo_merges_with_rocm_smi_once():
    rocminfo = (FIXTURES / "mi300x-4x-rocminfo" / "rocminfo.txt").read_text()
    rocm_smi = (FIXTURES / "mi300x-4x-rocm-smi-text" / "rocm-smi.txt").read_text()
    facts = facts_from_sources(rocminfo_text=rocminfo, rocm_smi_text=rocm_smi)
    assert facts["summary"]["count"] == 4
    assert all(sorted(d["sources"]) == ["rocm-smi", "rocminfo"] for d in facts["devices"])
    assert not any(n.startswith("sources disagree") for n in facts["notes"])


def test_sources_that_disagree_are_noted_and_shown_in_the_plan_table():
    facts = load_facts("fallen-off-a100")
    assert "sources disagree on the number of NVIDIA GPUs: lspci lists 2, nvidia-smi lists 1" in facts["notes"]
    assert facts["source_counts"] == {"nvidia": {"lspci": 2, "nvidia-smi": 1}}
    plan = build_serving_plan(facts, host="fallen-off-a100")
    assert any(line.startswith("detect    : sources disagree") for line in plan_table(plan, facts))


def test_readiness_names_degraded_links_and_small_hosts():
    facts = load_facts("rtx4060ti-2x-smi-q")
    readiness = hardware_readiness(facts["devices"], ram_mib=16_000,
                                   disk={"path": "/var/lib/gpt-oss/hf", "device": "sda", "type": "hdd"})
    text = "\n".join(readiness["warnings"])
    assert "GPU 0000:03:00.0 runs its PCIe link at x4 of x8" in text
    assert "GPU 0000:09:00.0 sits in an x8 slot" in text
    assert "host RAM 16000 MiB" in text and "HF_HOME /var/lib/gpt-oss/hf is on sda (hdd)" in text
    assert any("PCIe gen" not in w for w in readiness["warnings"])
    facts["readiness"] = readiness
    plan = build_serving_plan(facts, host="rtx4060ti")
    assert sum(line.startswith("readiness : ") for line in plan_table(plan, facts)) == len(readiness["warnings"])


def test_readiness_of_a_good_host_has_no_warnings():
    facts = load_facts("h100-sxm-8x-smi-q")
    readiness = hardware_readiness(facts["devices"], ram_mib=2_000_000, disk={"type": "nvme", "path": "/x"})
    assert readiness["warnings"] == [] and len(readiness["pcie"]) == 8


def test_readiness_l4_at_x8_and_small_vram_card():
    l4 = hardware_readiness(load_facts("l4-smi-q")["devices"])
    assert any("x8 of x16" in w for w in l4["warnings"]) and any("gen 1 of 4" in n for n in l4["notes"])
    vega = hardware_readiness(load_facts("rx6700xt-rocm-smi-json-old")["devices"])
    assert any("12272 MiB; the guides want at least 16384" in w for w in vega["warnings"])


def test_meminfo_and_disk_kind():
    assert meminfo_mib("MemTotal:       65758112 kB\nMemFree: 1 kB\n") == 64216
    assert meminfo_mib("") is None
    assert [disk_kind("nvme0n1", None), disk_kind("sda", "0\n"), disk_kind("sdb", "1"), disk_kind("vda", None)] == \
        ["nvme", "ssd", "hdd", "unknown"]


def test_module_reports_readiness_live():
    result = run_module({})
    readiness = result["ansible_facts"]["gpu"]["readiness"]
    assert readiness["ram_mib"] and readiness["hf_home"]["free_mib"] >= 0


def test_replayed_fixture_module_passes_new_formats():
    options = {k: v for k, v in replay_options("mi300x-1x-concise").items() if v is not None}
    result = run_module(options)
    assert result["ansible_facts"]["gpu"]["summary"]["families"] == ["cdna3"]
