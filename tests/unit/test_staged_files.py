"""The staged_files lookup (what the controller push compares) through Ansible on real files: a snapshot directory
of relative links into blobs, as hf_snapshot leaves it, and a broken link, which must fail naming it."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE = pathlib.Path(sys.executable).parent / "ansible"


def staged(directory):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    argv = [str(ANSIBLE), "localhost", "-m", "ansible.builtin.debug", "-a",
            "msg={{ query('staged_files', %s) }}" % json.dumps(str(directory))]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_links_followed_subdirectories_listed_with_sizes_and_times(tmp_path):
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / "aaa").write_bytes(b"x" * 1000)
    (blobs / "bbb").write_bytes(b"{}")
    os.utime(blobs / "aaa", (1700000000, 1700000000))
    snapshot = tmp_path / "snapshots" / "main"
    (snapshot / "original").mkdir(parents=True)
    (snapshot / "model.gguf").symlink_to("../../blobs/aaa")
    (snapshot / "original" / "config.json").symlink_to("../../../blobs/bbb")
    entries = staged(snapshot)["msg"]
    assert entries == [
        {"path": "model.gguf", "src": str(snapshot / "model.gguf"), "size": 1000, "mtime": 1700000000, "dir": False},
        {"path": "original", "dir": True},
        {"path": "original/config.json", "src": str(snapshot / "original" / "config.json"), "size": 2,
         "mtime": int((blobs / "bbb").stat().st_mtime), "dir": False},
    ]


def test_a_broken_link_or_a_missing_directory_fails_naming_it(tmp_path):
    (tmp_path / "model.gguf").symlink_to("blobs/gone")
    broken = staged(tmp_path)
    assert broken.get("failed") and "cannot read %s" % (tmp_path / "model.gguf") in broken["msg"]
    missing = staged(tmp_path / "nope")
    assert missing.get("failed") and "is not a directory on the controller" in missing["msg"]
