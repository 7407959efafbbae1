"""Every module's documentation parses, and ansible-doc can show it: DOCUMENTATION, EXAMPLES and RETURN are YAML,
the documented options are the module's argument_spec, and `attributes` (check mode at least) and `seealso` are there.
"""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(path.stem for path in (ROOT / "library").glob("*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_shows_the_module(name):
    ansible_doc = pathlib.Path(sys.executable).parent / "ansible-doc"
    result = subprocess.run([str(ansible_doc), "-M", str(ROOT / "library"), "--json", name], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    import json
    doc = json.loads(result.stdout)[name]
    assert doc["doc"].get("short_description"), name
    assert "check_mode" in doc["doc"].get("attributes", {}), "%s documents no check_mode attribute" % name
    assert doc["examples"] and doc["return"] is not None, name
