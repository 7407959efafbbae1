#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: hf_snapshot
short_description: Fetch a pinned Hugging Face model snapshot into the HF cache, verified and resumable
description:
  - Resolves I(revision) (a commit sha, or a branch) to a commit with the hub's revision API, selects the files
    matching I(allow_patterns), and makes C(HF_HOME/hub/models--ORG--NAME) hold them in huggingface_hub's cache
    layout (blobs named by ETag, C(snapshots/<commit>) symlinks, C(refs/<revision>)), so an engine started with
    C(HF_HUB_OFFLINE=1) finds them.
  - Every file is verified against the hub's hash (the LFS sha256 for large files, git's blob sha1 for small ones)
    after download; a blob that changed on disk since it was verified is hashed again, and re-fetched when wrong.
  - Resumable across runs and processes. An interrupted download keeps C(blobs/<etag>.incomplete) (and, for a file
    fetched as parallel ranges, C(blobs/<etag>.incomplete.ranges)); the next run requests only the missing bytes with
    HTTP Range requests.
  - A complete, verified snapshot is C(ok) and transfers no file bytes (one metadata request per file).
  - Check mode reports what would be fetched and how many bytes, and changes nothing.
  - Works against the hub, a mirror (C(HF_ENDPOINT), e.g. olah) or a stand-in; proxies come from the usual
    C(HTTPS_PROXY) environment. The token is sent only to I(endpoint), never across a redirect.
version_added: "0.3.0"
author: gpt-oss-fleet contributors
options:
  repo:
    description: Model repository id, e.g. C(openai/gpt-oss-20b).
    type: str
    required: true
  revision:
    description: Commit sha (recommended) or branch.
    type: str
    default: main
  hf_home:
    description: The C(HF_HOME) to fill (the cache lives in its C(hub) folder).
    type: path
    required: true
  allow_patterns:
    description: Shell-style patterns of the files to fetch; empty fetches every file of the repository.
    type: list
    elements: str
    default: []
  endpoint:
    description: Base URL of the hub or of a mirror.
    type: str
    default: https://huggingface.co
  token:
    description: Hub token for gated or private repositories.
    type: str
  ca_bundle:
    description: CA bundle to trust for HTTPS (corporate or intercepting proxies).
    type: path
  full_verify:
    description: Hash every file even when it is unchanged since it was last verified.
    type: bool
    default: false
  progress_file:
    description: File to append one JSON progress line per second to (C(tail -f) it during long downloads).
    type: path
  streams:
    description:
      - Connections used at once. Each file of 128 MiB or more is fetched as parallel ranges (this many at a time)
        written in place, the bytes of each range recorded beside the partial file
        (C(blobs/<etag>.incomplete.ranges)) so that a resumed run asks only for what is missing, and hashed in order
        while the ranges arrive. The smaller files go first, one connection each, and the ranges take the
        connections as they finish. A server that ignores range requests gets one stream.
      - C(1) fetches one file at a time over one connection.
    type: int
    default: 4
attributes:
  check_mode:
    support: full
    details: Resolves the revision and compares the files on disk with the hub's; reports what would be fetched
      (C(bytes_to_fetch)) without writing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The download, verification and cache layout are in C(module_utils/hf_download.py) (C(cache_layout) is shared with
    the planner).
seealso:
  - name: huggingface_hub cache layout
    description: The layout this module writes (blobs, snapshots, refs) so that huggingface_hub and the engines read it.
    link: https://huggingface.co/docs/huggingface_hub/guides/manage-cache
  - module: ansible.builtin.get_url
    description: Downloads one file, with no resume across runs, verification against the hub's ETags or cache layout.
"""

EXAMPLES = r"""
- name: Fetch GPT-OSS-20B pinned to a commit
  hf_snapshot:
    repo: openai/gpt-oss-20b
    revision: 6cee5e81ee83917806bbde320786a8fb61efebee
    hf_home: /var/lib/gpt-oss/hf
    allow_patterns: ["*.json", "*.safetensors", "tokenizer*"]
    endpoint: http://model-mirror.lab:8090
"""

RETURN = r"""
commit:
  description: The commit the revision resolved to.
  returned: always
  type: str
snapshot_dir:
  description: C(HF_HOME/hub/models--ORG--NAME/snapshots/<commit>).
  returned: always
  type: str
files:
  description: One entry per selected file with path, size, etag and action (present, fetched, resumed,
    re-fetched (corrupt); in check mode present or would fetch).
  returned: always
  type: list
  elements: dict
bytes_total:
  description: Size of the selected files.
  returned: always
  type: int
bytes_to_fetch:
  description: Bytes missing before this run (partial downloads counted as what remains).
  returned: always
  type: int
bytes_fetched:
  description: Bytes transferred by this run.
  returned: when not in check mode
  type: int
bytes_reused:
  description: Bytes of interrupted downloads this run resumed from.
  returned: when not in check mode
  type: int
rate_mib_s:
  description: Bytes fetched over the whole run's time (metadata, transfer and verification).
  returned: when not in check mode
  type: float
transfer_rate_mib_s:
  description: Bytes fetched over the time after the metadata requests (transfer and hashing).
  returned: when not in check mode
  type: float
metadata_seconds:
  description: Time spent resolving the revision and reading every file's hash and size.
  returned: when not in check mode
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.hf_download import DownloadError, Hub, ensure_snapshot


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo=dict(type="str", required=True),
            revision=dict(type="str", default="main"),
            hf_home=dict(type="path", required=True),
            allow_patterns=dict(type="list", elements="str", default=[]),
            endpoint=dict(type="str", default="https://huggingface.co"),
            token=dict(type="str", no_log=True),
            ca_bundle=dict(type="path"),
            full_verify=dict(type="bool", default=False),
            progress_file=dict(type="path"),
            streams=dict(type="int", default=4),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not 1 <= params["streams"] <= 32:
        module.fail_json(msg="streams=%d must be between 1 and 32 (model_weights_download_streams)" % params["streams"])
    hub = Hub(params["endpoint"], token=params["token"], ca_bundle=params["ca_bundle"])
    try:
        result = ensure_snapshot(hub, params["repo"], params["revision"], params["hf_home"],
                                 patterns=params["allow_patterns"], check_mode=module.check_mode,
                                 full_verify=params["full_verify"], progress_file=params["progress_file"],
                                 streams=params["streams"])
    except DownloadError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
