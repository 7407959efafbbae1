#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_files
short_description: Keep many directories, small files and symbolic links on a host with one module run
description:
  - Ensures each listed directory exists with its owner, group and mode (missing parents are created with the same
    ones, as M(ansible.builtin.file) does), then that each listed file has exactly the given content, owner, group
    and mode.
  - Files are written only when their content differs, atomically - a temporary file in the same directory, owned
    and moded as wanted, checked by I(validate) where given, then renamed over the old one. A file whose content
    is right but whose owner, group or mode is not is only fixed.
  - Then each listed symbolic link points at its target, as C(ln -sfn) would, but atomically - a temporary link in
    the same directory renamed over the old path, so the path always names the old target or the new one. A link
    to the right target whose owner or group is not right is only fixed (the link itself, not its target).
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
  links:
    description: Symbolic links, made after the directories and the files (a link may point at a file written by the
      same run, and is switched only once every file was written).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the link; its directory must exist or be listed under I(directories). A link
          to another target or a regular file there is replaced (as C(ln -sfn), or M(ansible.builtin.file)'s
          C(force)); anything else there (a directory) fails the task.
        type: path
        required: true
      target:
        description: What the link points to, written as given (a relative target stays relative) and compared as
          written, not resolved. It need not exist.
        type: path
        required: true
      owner: *owner
      group: *group
attributes:
  action:
    support: full
    details: An action plugin (action_plugins/host_files.py) runs the module's own code in the controller's worker
      process when the task runs on the controller itself (C(delegate_to=localhost), local connection, no become) -
      the same writes, without starting a Python for them.
  check_mode:
    support: full
    details: Nothing is written; every path that would be created, written or changed is reported, with its diff.
      Owners and groups that do not exist yet (an earlier task would create them) count as changes.
  diff_mode:
    support: full
    details: One diff per changed path - the content for files (unless I(diff=false)), the target for links, the
      state or the owner, group and mode otherwise.
  platform:
    platforms: posix
notes:
  - The decisions are pure functions in C(module_utils/host_files.py), unit-tested.
  - SELinux contexts, ACLs, attributes and hard links are not managed; the hosts this toolkit supports (Debian,
    Ubuntu) use none of them for these paths.
seealso:
  - module: ansible.builtin.file
    description: One path per run, with hard links, ACL-free attributes and removal.
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

- name: Install the launcher into the new build and point the current one at it, in one run
  host_files:
    files:
      - dest: /opt/gpt-oss/venvs/build-2/bin/launcher
        content: "{{ lookup('ansible.builtin.file', 'launcher', rstrip=false) }}"
        owner: root
        group: root
        mode: "0755"
    links:
      - {path: /opt/gpt-oss/venvs/current, target: /opt/gpt-oss/venvs/build-2, owner: root, group: root}
"""

RETURN = r"""
changed_paths:
  description: The paths created, written or changed (or that would be, in check mode) - directories, then files,
    then links.
  type: list
  elements: str
  returned: always
  sample: [/opt/gpt-oss/venvs, /etc/systemd/system/gpt-oss-0.service]
"""

import shlex
import subprocess

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.module_exit import finish
from ansible.module_utils.host_files import HostFilesError, apply


_OWNED = dict(owner=dict(type="str"), group=dict(type="str"), mode=dict(type="str", required=True))
ARGUMENT_SPEC = dict(
    directories=dict(type="list", elements="dict", default=[],
                     options=dict(path=dict(type="path", required=True), **_OWNED)),
    files=dict(type="list", elements="dict", default=[],
               options=dict(dest=dict(type="path", required=True), content=dict(type="str", required=True),
                            validate=dict(type="str"), diff=dict(type="bool", default=True), **_OWNED)),
    links=dict(type="list", elements="dict", default=[],
               options=dict(path=dict(type="path", required=True), target=dict(type="path", required=True),
                            owner=dict(type="str"), group=dict(type="str"))),
)


def run_validate(command):
    """(rc, stdout + stderr) of a validate command (its argv split as a shell would, never run by a shell)."""
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def run(params, check_mode=False):
    """The module's result for validated params: on the host (main), or in the controller's worker process when the
    task runs on the controller itself as the controller's user (action_plugins/host_files.py)."""
    try:
        changed_paths, diffs = apply(params["directories"], params["files"], check_mode, run_validate,
                                     params["links"])
    except (HostFilesError, OSError) as exc:
        return dict(failed=True, msg=str(exc))
    return dict(changed=bool(changed_paths), changed_paths=changed_paths, diff=diffs)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    finish(module, run(module.params, module.check_mode))


if __name__ == "__main__":
    main()
