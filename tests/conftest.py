"""Make the project's module_utils importable as ansible.module_utils.<name>, as Ansible does."""
import pathlib

import ansible.module_utils

ROOT = pathlib.Path(__file__).resolve().parents[1]
ansible.module_utils.__path__.append(str(ROOT / "module_utils"))
