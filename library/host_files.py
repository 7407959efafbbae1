#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_files
short_description: Keep many directories and small files on a host with one module run
description:
  - Ensures each listed directory exists with its owner, group and mode (missing parents are created with the same
    ones, as M(ansible.builtin.file) does), then that each listed file has exactly the given content, owner, group
    and mode.
  - Files are written only when their content differs, atomically - a temporary file in the same directory, owned
    and moded as wanted, checked by I(validate) where given, then renamed over the old one. A file whose content
    is right but whose owner, group or mode is not is only fixed.
  - One module run for all of them, where M(ansible.builtin.file) in a loop and M(ansible.builtin.template) cost one
    run per path and five round trips per file; that is what a no-op converge spends its time on.
  - Render templates on the controller into I(content) (C(lookup('ansible.builtin.template', ...))); copy role files
    with C(lookup('ansible.builtin.file', ..., rstrip=false)).
version_added: "0.9.0"
author: gpt-oss-fleet contributors
options:
  directories:
    description: Directories, parents before children.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner: &owner
        description: User name; left as it is (or as created) when not given.
        type: str
      group: &group
        description: Group name; left as it is (or as created) when not given.
        type: str
      mode:
        description: Octal mode as a quoted string, e.g. C("0755").
        type: str
        required: true
  files:
    description: Files, written after the directories.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Absolute path; its directory must exist or be listed under I(directories).
        type: path
        required: true
      content:
        description: The whole content (UTF-8 text).
        type: str
        required: true
      owner: *owner
      group: *group
      mode:
        description: Octal mode as a quoted string, e.g. C("0644").
        type: str
        required: true
      validate:
        description: A command run on the new content before it replaces the file, C(%s) standing for its path (not
          through a shell). The file is left as it was when it fails, and the task fails with its output.
        type: str
      diff:
        description: Whether C(--diff) may show the content. Set C(false) for files that hold secrets (and set
          C(no_log) on the task).
        type: bool
        default: true
attributes:
  check_mode:
    support: full
    details: Nothing is written; every path that would be created, written or changed is reported, with its diff.
      Owners and groups that do not exist yet (an earlier task would create them) count as changes.
  diff_mode:
    support: full
    details: One diff per changed path - the content for files (unless I(diff=false)), the state or the owner,
      group and mode otherwise.
  platform:
    platforms: posix
notes:
  - The decisions are pure functions in C(module_utils/host_files.py), unit-tested.
  - SELinux contexts, ACLs, attributes and links are not managed; the hosts this toolkit supports (Debian, Ubuntu)
    use none of them for these paths.
seealso:
  - module: ansible.builtin.file
    description: One path per run, with links, ACL-free attributes and removal.
  - module: ansible.builtin.template
    description: One rendered file per run, with backups.
  - module: ansible.builtin.copy
    description: One file or tree per run, including binary files.
"""

EXAMPLES = r"""
- name: Create the install directories and the source fetcher
  host_files:
    directories:
      - {path: /opt/gpt-oss, owner: root, group: root, mode: "0755"}
      - {path: /opt/gpt-oss/venvs, owner: root, group: root, mode: "0755"}
    files:
      - dest: /opt/gpt-oss/tools/bin/fetch-sdist
        content: "{{ lookup('ansible.builtin.file', 'fetch-sdist', rstrip=false) }}"
        owner: root
        group: root
        mode: "0755"

- name: Write a unit, checked by systemd before it replaces the old one
  host_files:
    files:
      - dest: /etc/systemd/system/gpt-oss-0.service
        content: "{{ lookup('ansible.builtin.template', 'replica.service.j2') }}"
        owner: root
        group: root
        mode: "0644"
        validate: /usr/bin/systemd-analyze verify %s
"""

RETURN = r"""
changed_paths:
  description: The paths created, written or changed (or that would be, in check mode), directories first.
  type: list
  elements: str
  returned: always
  sample: [/opt/gpt-oss/venvs, /etc/systemd/system/gpt-oss-0.service]
"""

import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.host_files import HostFilesError, apply


def main():
    owned = dict(owner=dict(type="str"), group=dict(type="str"),
                 mode=dict(type="str", required=True))
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[],
                             options=dict(path=dict(type="path", required=True), **owned)),
            files=dict(type="list", elements="dict", default=[],
                       options=dict(dest=dict(type="path", required=True), content=dict(type="str", required=True),
                                    validate=dict(type="str"), diff=dict(type="bool", default=True), **owned)),
        ),
        supports_check_mode=True,
    )
    def run_validate(command):
        rc, out, err = module.run_command(shlex.split(command))
        return rc, out + err

    try:
        changed_paths, diffs = apply(module.params["directories"], module.params["files"], module.check_mode,
                                     run_validate)
    except (HostFilesError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, diff=diffs)


if __name__ == "__main__":
    main()
