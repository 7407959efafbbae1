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


class _Body(object):
    """A response body that hands out at most `step` bytes per readinto, as a socket does."""

    def __init__(self, data, step):
        self.data, self.step, self.position = data, step, 0

    def readinto(self, view):
        n = min(len(view), self.step, len(self.data) - self.position)
        view[:n] = self.data[self.position:self.position + n]
        self.position += n
        return n


def test_read_block_fills_the_buffer_across_short_reads_and_stops_at_the_end():
    from ansible.module_utils.hf_download import read_block
    data = os.urandom(1000)
    body, buffer = _Body(data, 7), memoryview(bytearray(300))
    got = []
    for n in iter(lambda: read_block(body, buffer), 0):
        got.append(bytes(buffer[:n]))
    assert [len(block) for block in got] == [300, 300, 300, 100] and b"".join(got) == data


def test_pwrite_all_finishes_a_short_write(tmp_path, monkeypatch):
    from ansible.module_utils import hf_download
    real = os.pwrite
    monkeypatch.setattr(hf_download.os, "pwrite", lambda fd, data, offset: real(fd, bytes(data)[:3], offset))
    path = tmp_path / "part"
    path.write_bytes(b"." * 20)
    fd = os.open(str(path), os.O_RDWR)
    try:
        hf_download.pwrite_all(fd, memoryview(b"0123456789"), 5)
    finally:
        os.close(fd)
    assert path.read_bytes() == b".....0123456789....."


@pytest.mark.parametrize("mappable", [True, False])
def test_hash_region_hashes_exactly_the_bytes_asked_for(tmp_path, monkeypatch, mappable):
    """Windows smaller than the region and starts off the mapping granularity; and the read-back path taken where a
    file cannot be mapped."""
    import mmap
    from ansible.module_utils import hf_download
    if not mappable:
        def refuse(*args, **kwargs):
            raise OSError(19, "No such device")
        monkeypatch.setattr(hf_download.mmap, "mmap", refuse)
    data = os.urandom(3 * mmap.ALLOCATIONGRANULARITY + 123)
    path = tmp_path / "blob"
    path.write_bytes(data)
    fd = os.open(str(path), os.O_RDONLY)
    try:
        for start, end, window in ((0, len(data), hf_download.MAP_WINDOW), (5, len(data) - 9, 2 * mmap.PAGESIZE),
                                   (mmap.ALLOCATIONGRANULARITY + 1, mmap.ALLOCATIONGRANULARITY + 2, 4096),
                                   (17, 17, 4096)):
            hasher = hashlib.sha256()
            hf_download.hash_region(fd, hasher, start, end, window=window)
            assert hasher.hexdigest() == hashlib.sha256(data[start:end]).hexdigest(), (start, end, window)
        with pytest.raises(OSError):  # past the end of the file: never a hash of fewer bytes than asked
            hf_download.hash_region(fd, hashlib.sha256(), len(data) - 10, len(data) + 10 * mmap.PAGESIZE)
    finally:
        os.close(fd)


def test_a_range_is_recorded_every_few_mib_and_when_it_ends(tmp_path):
    """The record never counts bytes that were not written, and is rewritten every RECORD_EVERY bytes of a range
    (not per block) and when the range ends."""
    from ansible.module_utils.hf_download import RECORD_EVERY, _Ranges
    record = tmp_path / "abc.incomplete.ranges"
    size = 3 * RECORD_EVERY
    ranges = _Ranges(str(record), [[0, size, 0], [size, 2 * size, 0]])
    ranges.save()
    saved = lambda: json.loads(record.read_text())  # noqa: E731
    ranges.advance(0, RECORD_EVERY // 2)
    assert saved() == [[0, size, 0], [size, 2 * size, 0]]  # not yet
    ranges.advance(1, RECORD_EVERY - 1)
    ranges.advance(0, RECORD_EVERY // 2)  # range 0 reaches RECORD_EVERY: everything written so far is recorded
    assert saved() == [[0, size, RECORD_EVERY], [size, 2 * size, RECORD_EVERY - 1]]
    ranges.advance(1, 1)  # range 1's own count since the last record restarted from that record
    assert saved()[1][2] == RECORD_EVERY - 1
    ranges.advance(0, size - RECORD_EVERY)  # the end of range 0
    assert saved() == [[0, size, size], [size, 2 * size, RECORD_EVERY]]
    assert ranges.contiguous() == size + RECORD_EVERY


def test_pump_writes_and_hashes_every_block_in_order(tmp_path):
    from ansible.module_utils.hf_download import BLOCK, Progress, _pump
    data = os.urandom(3 * BLOCK + 12345)
    hasher = hashlib.sha256()
    progress = Progress(None, len(data))
    with open(str(tmp_path / "out"), "wb") as handle:
        assert _pump(_Body(data, 65536), handle, hasher, progress, "out") == len(data)
    assert (tmp_path / "out").read_bytes() == data and hasher.hexdigest() == hashlib.sha256(data).hexdigest()
    assert progress.done == len(data)


def test_pump_reports_a_failed_write(tmp_path):
    from ansible.module_utils.hf_download import BLOCK, Progress, _pump

    class Full(object):
        def write(self, block):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        _pump(_Body(os.urandom(8 * BLOCK), BLOCK), Full(), None, Progress(None, 8 * BLOCK), "out")


class _Hub(object):
    """Serves files from memory as the hub's resolve URL does (Range honoured), counting the connections open at
    once and the order the transfers began in."""

    def __init__(self, files):
        import threading
        self.files, self.lock, self.open, self.most, self.began = files, threading.Lock(), 0, 0, []

    def open_range(self, repo, commit, path, offset, end=None):
        hub, data = self, self.files[path]

        class Response(_Body):
            status = 206 if end is not None or offset else 200
            headers = {"Content-Range": "bytes %d-%d/%d" % (offset, (end or len(data)) - 1, len(data))}

            def close(self):
                with hub.lock:
                    hub.open -= 1

        with self.lock:
            self.open += 1
            self.most = max(self.most, self.open)
            self.began.append((path, offset))
        return Response(data[offset:end], 4096)


def test_fetch_missing_sends_the_small_files_first_and_keeps_to_the_connections(tmp_path, monkeypatch):
    """The small files go first, then the large file as ranges in order over the same connections, never more than
    `streams` at once; every blob lands whole and verified, no partial file or range record is left."""
    from ansible.module_utils import hf_download
    monkeypatch.setattr(hf_download, "SEGMENT_MIN", 64 << 10)
    # below 2 x SEGMENT_MIN a file is small: one connection, hashed as it streams
    files = {"big.safetensors": os.urandom(1 << 20), "config.json": os.urandom(5000),
             "tokenizer.json": os.urandom(100000)}
    etags = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    etags["config.json"] = hashlib.sha1(b"blob %d\0" % 5000 + files["config.json"]).hexdigest()  # git's blob sha1
    missing = [{"path": path, "etag": etags[path], "size": len(data), "corrupt": False, "partial_bytes": 0}
               for path, data in sorted(files.items())]
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    hub = _Hub(files)
    outcome = hf_download._fetch_missing(hub, "org/name", "c0ffee", missing, str(blobs),
                                         hf_download.Progress(None, sum(map(len, files.values()))), 3)
    assert outcome == {path: (len(data), 0) for path, data in files.items()}
    for path, data in files.items():
        assert (blobs / etags[path]).read_bytes() == data
    assert sorted(p.name for p in blobs.iterdir()) == sorted(etags.values())
    assert hub.most <= 3
    # queued first (the threads may call the hub in a slightly different order than they took their jobs)
    assert {path for path, _ in hub.began[:4]} >= {"config.json", "tokenizer.json"}, hub.began
    ranges = [offset for path, offset in hub.began if path == "big.safetensors"]
    assert sorted(ranges) == list(range(0, 1 << 20, 64 << 10))  # 1 MiB in 64 KiB ranges, each asked for once
    assert all(abs(position - sorted(ranges).index(offset)) < 3 for position, offset in enumerate(ranges)), ranges
