# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: staged_files
short_description: The files and subdirectories of a directory on the controller, with sizes and modification times
description:
  - Walks each directory given, following links (a Hugging Face snapshot directory is relative links into its
    blobs), and returns one flat list, sorted, of what is under it - each file as C(path) (relative), C(src)
    (absolute), C(size) (bytes) and C(mtime) (whole seconds since the epoch) with C(dir=false); each subdirectory as
    C(path) with C(dir=true).
  - The model_weights role compares these with what M(host_probe) reads of the host's copies, and pushes only the
    files whose size or modification time differ (the quick check rsync makes by default), instead of hashing every
    file on both sides on every converge.
options:
  _terms:
    description: Directories on the controller.
    required: true
"""

EXAMPLES = r"""
- name: Show what would be pushed
  ansible.builtin.debug:
    msg: "{{ query('staged_files', '/srv/models/gpt-oss-20b') | rejectattr('dir') | map(attribute='path') }}"
"""

RETURN = r"""
_list:
  description: One entry per file or subdirectory, parents before children.
  type: list
  elements: dict
"""

import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase


def staged(root):
    """[{path, src, size, mtime, dir}] under root, links followed; a broken link fails naming it."""
    if not os.path.isdir(root):
        raise AnsibleError("staged_files: %s is not a directory on the controller" % root)
    entries = []
    for directory, subdirectories, names in os.walk(root, followlinks=True):
        subdirectories.sort()
        relative = os.path.relpath(directory, root)
        if relative != ".":
            entries.append({"path": relative, "dir": True})
        for name in sorted(names):
            src = os.path.join(directory, name)
            try:
                info = os.stat(src)
            except OSError as error:
                raise AnsibleError("staged_files: cannot read %s: %s" % (src, error.strerror))
            entries.append({"path": os.path.normpath(os.path.join(relative, name)), "src": src,
                            "size": info.st_size, "mtime": int(info.st_mtime), "dir": False})
    return entries


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [entry for root in terms for entry in staged(root)]
