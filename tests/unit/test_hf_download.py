"""Pure parts of the snapshot downloader: file selection, ETag handling, git/LFS hashes, cache links, verification
bookkeeping. The network paths run against the hub stand-in in tests/integration/test_weights.py."""
import hashlib
import json
import os

import pytest

from ansible.module_utils.hf_download import (
    VERIFIED_MANIFEST, _link, _load_manifest, blob_is_good, clean_etag, hash_file, new_hasher, repo_folder,
    select_files,
)


def test_select_files_by_pattern():
    files = ["config.json", "model-00001-of-00003.safetensors", "original/model.safetensors", "README.md",
             "tokenizer.json", "chat_template.jinja"]
    assert select_files(files, ["*.json", "*.safetensors", "*.jinja"]) == [
        "chat_template.jinja", "config.json", "model-00001-of-00003.safetensors", "original/model.safetensors",
        "tokenizer.json"]
    assert select_files(files, ["tokenizer*"]) == ["tokenizer.json"]
    assert select_files(files, []) == sorted(files)


def test_clean_etag_forms():
    assert clean_etag('"abc"') == "abc"
    assert clean_etag('W/"abc"') == "abc"
    assert clean_etag(None) == ""


def test_git_blob_sha1_matches_git(tmp_path):
    path = tmp_path / "hello"
    path.write_bytes(b"hello\n")
    etag = "ce013625030ba8dba906f756967f9e9ca394464a"  # `echo hello | git hash-object --stdin`
    assert hash_file(str(path), etag, 6).hexdigest() == etag
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert hash_file(str(empty), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", 0).hexdigest() == \
        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_lfs_etag_is_sha256_and_unknown_forms_are_size_only(tmp_path):
    path = tmp_path / "weights"
    path.write_bytes(os.urandom(4096))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert hash_file(str(path), digest, 4096).hexdigest() == digest
    assert new_hasher("not-a-hash", 4096) is None


def test_cache_layout_and_relative_links(tmp_path):
    folder = repo_folder(str(tmp_path), "openai/gpt-oss-20b")
    assert folder == str(tmp_path / "hub" / "models--openai--gpt-oss-20b")
    snapshot = os.path.join(folder, "snapshots", "c0ffee")
    os.makedirs(os.path.join(folder, "blobs"))
    assert _link(snapshot, "original/config.json", "abc")
    link = os.path.join(snapshot, "original", "config.json")
    assert os.readlink(link) == "../../../blobs/abc"
    assert not _link(snapshot, "original/config.json", "abc")  # unchanged
    assert _link(snapshot, "original/config.json", "def")  # a new revision of the file


def test_verification_is_remembered_until_the_file_changes(tmp_path):
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    data = os.urandom(8192)
    etag = hashlib.sha256(data).hexdigest()
    (blobs / etag).write_bytes(data)
    manifest = {}
    assert blob_is_good(str(blobs), etag, len(data), manifest, full_verify=False)
    assert etag in manifest
    # a flipped byte changes the file's mtime: hashed again, found bad
    with open(blobs / etag, "r+b") as handle:
        handle.seek(100)
        handle.write(bytes([data[100] ^ 0xFF]))
    assert not blob_is_good(str(blobs), etag, len(data), manifest, full_verify=False)
    assert not blob_is_good(str(blobs), etag, len(data) + 1, {}, full_verify=False)  # wrong size, no hashing
    assert _load_manifest(str(blobs)) == {} and not (blobs / VERIFIED_MANIFEST).exists()


@pytest.mark.parametrize("revision", ["main", "v1.0", "refs/pr/7", "0123456789abcdef0123456789abcdef01234567"])
def test_cache_layout_is_where_huggingface_hub_keeps_repositories_and_refs(tmp_path, revision):
    """The planner and the weights role take the layout from cache_layout; huggingface_hub itself writes the ref."""
    file_download = pytest.importorskip("huggingface_hub.file_download")
    from ansible.module_utils.hf_download import cache_layout
    hf_home = str(tmp_path / "hf")
    layout = cache_layout(hf_home + "/", "openai/gpt-oss-20b", revision)
    storage = os.path.join(hf_home, "hub", file_download.repo_folder_name(repo_id="openai/gpt-oss-20b",
                                                                            repo_type="model"))
    assert layout["repo_dir"] == storage
    file_download._cache_commit_hash_for_specific_revision(storage, revision, "f" * 40)
    assert os.path.isfile(layout["ref_file"])
    # every directory huggingface_hub made is in the list, parents first
    made = sorted(root for root, _, _ in os.walk(hf_home))
    assert set(made) <= set(layout["dirs"]), set(made) - set(layout["dirs"])
    for position, directory in enumerate(layout["dirs"][1:], 1):
        assert os.path.dirname(directory) in layout["dirs"][:position], directory
    assert os.path.dirname(layout["snapshot_dir"]) in layout["dirs"]


def test_large_files_split_into_ranges_that_cover_them_once():
    from ansible.module_utils.hf_download import RANGES_PER_STREAM, SEGMENT_MIN, segment_layout
    size = 40 * SEGMENT_MIN + 7
    for prefix, streams in ((0, 4), (0, 1), (3 * SEGMENT_MIN + 5, 4), (0, 32)):
        segments = segment_layout(size, prefix, streams)
        # contiguous from 0 to the end, in order, nothing counted twice
        assert [s[0] for s in segments[1:]] == [s[1] for s in segments[:-1]]
        assert segments[0][0] == 0 and segments[-1][1] == size
        done = [s for s in segments if s[2]]
        assert done == ([[0, prefix, prefix]] if prefix else [])
        fresh = [s for s in segments if not s[2]]
        # about streams x RANGES_PER_STREAM ranges (fewer when the file is short), none shorter than SEGMENT_MIN,
        # each beginning on a multiple of SEGMENT_MIN unless it begins where the prefix ends
        assert min(streams * RANGES_PER_STREAM, (size - prefix) // SEGMENT_MIN) // 2 <= len(fresh) \
            <= streams * RANGES_PER_STREAM * 3 // 2 + 1, (streams, len(fresh))
        assert all(end - start >= SEGMENT_MIN for start, end, _ in fresh)
        assert all(start % SEGMENT_MIN == 0 for start, _, _ in fresh if start != prefix)
    # a file below two ranges' worth stays one range
    assert segment_layout(SEGMENT_MIN + 1, 0, 4) == [[0, SEGMENT_MIN + 1, 0]]


def test_recorded_ranges_are_trusted_only_when_they_describe_the_partial_file(tmp_path):
    from ansible.module_utils.hf_download import load_ranges, partial_bytes
    part = tmp_path / "abc.incomplete"
    part.write_bytes(b"\0" * 300)
    record = tmp_path / "abc.incomplete.ranges"
    assert load_ranges(str(part), 300) is None and partial_bytes(str(part), 300) == 300  # one stream's prefix
    good = [[0, 100, 100], [100, 200, 40], [200, 300, 0]]
    record.write_text(json.dumps(good))
    assert load_ranges(str(part), 300) == good and partial_bytes(str(part), 300) == 140
    for bad in ([[0, 100, 101], [100, 300, 0]],  # more done than the range holds
                [[0, 100, 0], [150, 300, 0]],  # a gap
                [[0, 100, 0], [100, 250, 0]],  # short of the file
                [[0, 100, 0], [100, 300, "5"]],  # not a number
                {"0": 1}, "garbage"):
        record.write_text(json.dumps(bad))
        assert load_ranges(str(part), 300) is None, bad
    record.write_text("{not json")
    assert load_ranges(str(part), 300) is None
    record.write_text(json.dumps(good))
    assert load_ranges(str(part), 301) is None  # the file is not the size the record was made for
    assert partial_bytes(str(tmp_path / "missing.incomplete"), 300) == 0
