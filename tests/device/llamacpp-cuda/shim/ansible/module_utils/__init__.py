"""Makes the repository's module_utils importable as ansible.module_utils.<name>, as Ansible (and
tests/conftest.py) does, without Ansible installed. Put .devicecheck/shim first on sys.path."""
import pathlib

__path__.append(str(pathlib.Path(__file__).resolve().parents[4] / "module_utils"))
