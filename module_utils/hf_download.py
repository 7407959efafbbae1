# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""Fetch a pinned Hugging Face snapshot into the standard HF cache layout, verified and resumable.

Speaks the hub's HTTP protocol directly (what huggingface_hub itself does): the revision API lists the files
and resolves a branch to a commit; a HEAD on each file's resolve URL gives its ETag (git blob sha1, or the LFS
sha256 in X-Linked-Etag) and size; GET with Range fetches it. Files land in
  HF_HOME/hub/models--ORG--NAME/blobs/<etag>                 (verified content)
  HF_HOME/hub/models--ORG--NAME/snapshots/<commit>/<path>    (relative symlinks to the blobs)
  HF_HOME/hub/models--ORG--NAME/refs/<revision>              (the commit)
so engines started with HF_HUB_OFFLINE=1 find them exactly as if huggingface_hub had downloaded them.

Why not huggingface_hub's own downloader: recent releases write a new `.incomplete` file per process, so a
download killed half-way starts over. Here the partial file has a stable name (blobs/<etag>.incomplete) and the
next run asks only for the missing bytes (Range), hashing what is on disk first. Standard library only: this
runs on the managed host's system Python.

Large files come as parallel ranges (a CDN or mirror often caps each connection well below the link, and the
GGUF repositories are one 12-65 GB file): the ranges are written in place into blobs/<etag>.incomplete, the bytes
each range holds are recorded beside it in blobs/<etag>.incomplete.ranges every few MiB (what a resumed run
trusts), and the hash follows the contiguous prefix while the ranges arrive, so verification still overlaps the
transfer. A server that answers a range request with the whole file gets one stream instead. The small files share
the same connections, behind the large file's ranges (_fetch_missing).
"""
from __future__ import annotations

import concurrent.futures
import fnmatch
import hashlib
import http.client
import json
import mmap
import os
import queue
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# Every transfer moves BLOCK bytes per call through buffers allocated once per stream (readinto, then pwrite or
# write from the same buffer), so the per-byte cost is the kernel's copies and the hash, not Python allocating,
# faulting in and freeing a new object per block. Small, because the size of a write() decides the size of the page
# cache pages the kernel (6.x, large folios) allocates for it: on the development VM (Firecracker, kernel 6.18)
# writing 588 MiB into a new file took 0.1-0.14 s in calls of 64-256 KiB and 0.5-1.4 s in calls of 2-4 MiB, and in
# calls of 1 MiB 0.1 s on a fresh machine but about 0.5 s more later (memory fragmented by the page cache, or handed
# back to the host, has to be compacted or faulted in again for large pages); 256 KiB stayed fast throughout.
BLOCK = 256 << 10
STREAM_BUFFERS = 8  # blocks a single stream's reader may be ahead of its writer/hasher thread
# A range's progress is recorded after at most this many new bytes (and when it ends or stops): a resumed run
# re-fetches at most this much per range beyond what was in flight, and the record's rename stays off the hot path.
RECORD_EVERY = 4 << 20
MAP_WINDOW = 16 << 20  # bytes of a partial file mapped at once to hash them (hash_region)
SEGMENT_MIN = 64 << 20  # a file is split into ranges of at least this many bytes
STREAMS = 4  # ranges fetched at once for one large file
RANGES_PER_STREAM = 8  # ranges per stream: the ranges are taken in order, so the hash trails the fastest by little
RANGES_SUFFIX = ".ranges"
VERIFIED_MANIFEST = ".gpt-oss-verified.json"
HEX40 = re.compile(r"^[0-9a-f]{40}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""


def repo_folder(hf_home, repo):
    return os.path.join(hf_home, "hub", "models--" + repo.replace("/", "--"))


def cache_layout(hf_home, repo, revision):
    """Where a revision of a repository lives in the HF cache, as huggingface_hub lays it out: the one place the
    planner (what the engine reads), the weights role (which directories to create, where the ref goes) and the
    download (ensure_snapshot) take the layout from.

    dirs lists the directories below HF_HOME to create, parents first; a pull-request revision's ref lives at
    refs/refs/pr/N, so its parent directories are among them.
    """
    hf_home = hf_home.rstrip("/")
    folder = repo_folder(hf_home, repo)
    ref_file = os.path.join(folder, "refs", revision)
    dirs = [hf_home, os.path.join(hf_home, "hub"), folder]
    parent = os.path.join(folder, "refs")
    dirs.append(parent)
    for part in revision.split("/")[:-1]:
        parent = os.path.join(parent, part)
        dirs.append(parent)
    dirs += [os.path.join(folder, "snapshots")]
    return {"repo_dir": folder, "snapshot_dir": os.path.join(folder, "snapshots", snapshot_alias(revision)),
            "ref_file": ref_file, "dirs": dirs}


def select_files(files, patterns):
    """Files matching any allow pattern (all files when there are none)."""
    if not patterns:
        return sorted(files)
    return sorted(f for f in files if any(fnmatch.fnmatch(f, p) for p in patterns))


def clean_etag(value):
    value = (value or "").strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def git_blob_sha1_prefix(size):
    return b"blob %d\0" % size


def new_hasher(etag, size):
    """A hasher whose hexdigest must equal the etag: sha256 for LFS files, git's blob sha1 otherwise."""
    if HEX64.match(etag):
        return hashlib.sha256()
    if HEX40.match(etag):
        hasher = hashlib.sha1()
        hasher.update(git_blob_sha1_prefix(size))
        return hasher
    return None  # unknown ETag form: size is all we can check


def hash_file(path, etag, size, hasher=None):
    """The hasher for `etag` (or the one given, to continue) fed with the whole file as it is on disk."""
    hasher = hasher or new_hasher(etag, size)
    if hasher is None:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        hash_region(fd, hasher, 0, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    return hasher


def read_block(response, view):
    """Fill `view` from the response body as far as the body goes; returns the bytes read (0 at its end).

    http.client's readinto receives straight into the given buffer (recv_into), so a block costs the kernel's copy
    and no Python object; it may return less than asked (a chunked body's chunk end), hence the loop."""
    got = 0
    while got < len(view):
        n = response.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def pwrite_all(fd, view, offset):
    """os.pwrite the whole of `view` at `offset` (a write may be short; the rest follows)."""
    while len(view):
        n = os.pwrite(fd, view, offset)
        if not n:
            raise OSError("no byte written at offset %d" % offset)
        view, offset = view[n:], offset + n


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Hub(object):
    """The hub's HTTP API at an endpoint (the hub, a mirror such as olah, or a stand-in)."""

    def __init__(self, endpoint, token=None, ca_bundle=None, timeout=60):
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        handlers = [urllib.request.HTTPSHandler(context=context)] if context else []
        self.opener = urllib.request.build_opener(*handlers)
        self.head_opener = urllib.request.build_opener(_NoRedirect(), *handlers)
        self.timeout = timeout

    def _request(self, url, method="GET", headers=None):
        request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
        request.add_header("User-Agent", "gpt-oss-fleet")
        if self.token:
            # unredirected: never forwarded to the CDN host a file redirects to
            request.add_unredirected_header("Authorization", "Bearer " + self.token)
        return request

    def revision(self, repo, revision):
        url = "%s/api/models/%s/revision/%s" % (self.endpoint, repo, urllib.parse.quote(revision, safe=""))
        try:
            with self.opener.open(self._request(url), timeout=self.timeout) as response:
                info = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise DownloadError(_http_advice(error.code, "%s@%s" % (repo, revision), url))
        except (urllib.error.URLError, OSError) as error:
            raise DownloadError("cannot reach %s (%s). Check model_weights_hf_endpoint, the proxy settings and "
                                "gpt_oss_ca_bundle." % (self.endpoint, getattr(error, "reason", error)))
        return info["sha"], [sibling["rfilename"] for sibling in info.get("siblings", [])]

    def resolve_url(self, repo, commit, path):
        return "%s/%s/resolve/%s/%s" % (self.endpoint, repo, commit, urllib.parse.quote(path))

    def file_metadata(self, repo, commit, path):
        """(etag, size) from a HEAD on the resolve URL, read before any redirect (as huggingface_hub does)."""
        url = self.resolve_url(repo, commit, path)
        request = self._request(url, method="HEAD", headers={"Accept-Encoding": "identity"})
        try:
            response = self.head_opener.open(request, timeout=self.timeout)
            headers, status = response.headers, response.status
            response.close()
        except urllib.error.HTTPError as error:
            if error.code not in (301, 302, 303, 307, 308):
                raise DownloadError(_http_advice(error.code, path, url))
            headers, status = error.headers, error.code
        etag = clean_etag(headers.get("X-Linked-Etag") or headers.get("ETag"))
        size = headers.get("X-Linked-Size") or headers.get("Content-Length")
        if not etag or size is None:
            raise DownloadError("%s answered HEAD %s (%s) without ETag/size headers; is model_weights_hf_endpoint a "
                                "Hugging Face hub or mirror?" % (self.endpoint, url, status))
        return etag, int(size)

    def open_range(self, repo, commit, path, offset, end=None):
        """GET from byte `offset` (to byte `end`, exclusive, when given); None when the server has nothing there."""
        headers = {"Accept-Encoding": "identity"}
        if end is not None:
            headers["Range"] = "bytes=%d-%d" % (offset, end - 1)
        elif offset:
            headers["Range"] = "bytes=%d-" % offset
        url = self.resolve_url(repo, commit, path)
        try:
            return self.opener.open(self._request(url, headers=headers), timeout=self.timeout)
        except urllib.error.HTTPError as error:
            if error.code == 416:
                return None
            raise DownloadError(_http_advice(error.code, path, url))


def _http_advice(code, what, url):
    if code in (401, 403):
        return ("%s: HTTP %d from %s. The repository is gated or private: accept its terms on the hub and set "
                "model_weights_hf_token (kept in Ansible Vault)." % (what, code, url))
    if code == 404:
        return ("%s: not found (HTTP 404 from %s). Check gpt_oss_model / gpt_oss_model_revision (a commit sha or a "
                "branch that exists)." % (what, url))
    return "%s: HTTP %d from %s" % (what, code, url)


class Progress(object):
    """Writes one JSON line per second to a file the user can follow (tail -f)."""

    def __init__(self, path, total):
        self.path, self.total, self.done, self.started, self.last = path, total, 0, time.time(), 0.0
        self.fetched = 0
        self.lock = threading.Lock()  # the ranges of a large file advance it from several threads

    def advance(self, n, current):
        with self.lock:
            self._advance(n, current)

    def adjust(self, n):
        """Count bytes already on disk (n > 0) or to be fetched again (n < 0) without calling them fetched."""
        with self.lock:
            self.done += n

    def _advance(self, n, current):
        self.done += n
        self.fetched += n
        now = time.time()
        if self.path and (now - self.last >= 1.0 or self.done >= self.total):
            self.last = now
            elapsed = max(now - self.started, 1e-6)
            line = {"time": int(now), "file": current, "done_bytes": self.done, "total_bytes": self.total,
                    "percent": round(100.0 * self.done / self.total, 1) if self.total else 100.0,
                    "rate_mib_s": round(self.fetched / elapsed / 1048576, 1)}
            with open(self.path, "a") as handle:
                handle.write(json.dumps(line) + "\n")


def _load_manifest(blobs):
    try:
        with open(os.path.join(blobs, VERIFIED_MANIFEST)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _stat_key(path):
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def blob_is_good(blobs, etag, size, manifest, full_verify):
    """True when blobs/<etag> holds the right bytes (hashed, or unchanged since it was hashed)."""
    path = os.path.join(blobs, etag)
    if not os.path.isfile(path) or os.path.getsize(path) != size:
        return False
    if not full_verify and manifest.get(etag) == _stat_key(path):
        return True
    hasher = hash_file(path, etag, size)
    ok = hasher is None or hasher.hexdigest() == etag
    if ok:
        manifest[etag] = _stat_key(path)
    return ok


def _pump(response, handle, hasher, progress, path):
    """Copy the response into the file and the hasher. This thread receives into one of STREAM_BUFFERS blocks while
    a second one writes and hashes the blocks before it (receiving, writing and hashing all release the GIL), which
    keeps a single stream close to what curl gets; the blocks go round between the two, none is allocated per
    read. Returns the bytes read."""
    free, full, failures = queue.Queue(), queue.Queue(), []
    for _ in range(STREAM_BUFFERS):
        free.put(memoryview(bytearray(BLOCK)))

    def sink():
        while True:
            item = full.get()
            if item is None:
                return
            buffer, n = item
            if not failures:  # after a failure keep taking blocks back so the reader never waits
                try:
                    handle.write(buffer[:n])
                    if hasher is not None:
                        hasher.update(buffer[:n])
                except OSError as error:
                    failures.append(error)
            free.put(buffer)

    worker = threading.Thread(target=sink, daemon=True)
    worker.start()
    read = 0
    try:
        while not failures:
            buffer = free.get()
            n = read_block(response, buffer)
            if not n:
                break
            full.put((buffer, n))
            read += n
            progress.advance(n, path)
    finally:
        full.put(None)
        worker.join()
    if failures:
        raise failures[0]
    return read


def fetch_blob(hub, repo, commit, path, etag, size, blobs, progress, retries=5, streams=STREAMS, pool=None):
    """Download into blobs/<etag>.incomplete, resuming what is there; verify; move into place.
    Returns (bytes fetched over the network, bytes that were already on disk).

    pool: an executor whose workers are the run's connections; the transfers (each range, or the one stream) are
    queued there, behind what is queued already, instead of run by this thread."""
    part = os.path.join(blobs, etag + ".incomplete")
    if (streams > 1 and size >= 2 * SEGMENT_MIN) or load_ranges(part, size) is not None:
        try:
            try:
                return _fetch_ranges(hub, repo, commit, path, etag, size, part, progress, retries, streams, pool)
            except _Mismatch:  # once more from nothing, as one stream retries a bad download
                return _fetch_ranges(hub, repo, commit, path, etag, size, part, progress, retries, streams, pool)
        except _NoRanges:
            # the server sent the whole file for a range: one stream from the start
            for leftover in (part, part + RANGES_SUFFIX):
                if os.path.exists(leftover):
                    os.remove(leftover)
    if pool is None:
        return _fetch_stream(hub, repo, commit, path, etag, size, blobs, progress, retries)
    return pool.submit(_fetch_stream, hub, repo, commit, path, etag, size, blobs, progress, retries).result()


def _fetch_stream(hub, repo, commit, path, etag, size, blobs, progress, retries):
    """One stream, appending to blobs/<etag>.incomplete from its end."""
    part = os.path.join(blobs, etag + ".incomplete")
    fetched, reused = 0, 0
    for attempt in range(retries + 1):
        offset = os.path.getsize(part) if os.path.exists(part) else 0
        if offset > size:
            os.remove(part)
            offset = 0
        hasher = new_hasher(etag, size)
        if offset and hasher is not None:
            hash_file(part, etag, size, hasher)
        if attempt == 0:
            reused = offset
            progress.adjust(offset)
        response = hub.open_range(repo, commit, path, offset) if offset < size else None
        try:
            if response is not None:
                if offset and response.status != 206:  # the server ignored Range: start over
                    progress.adjust(-offset)
                    offset = 0
                    hasher = new_hasher(etag, size)
                with open(part, "ab" if offset else "wb") as handle:
                    fetched += _pump(response, handle, hasher, progress, path)
        except (OSError, urllib.error.URLError) as error:
            if attempt == retries:
                raise DownloadError("%s: download interrupted %d times (%s); %d of %d bytes are kept in %s and the "
                                    "next run resumes from there." % (path, retries + 1, error,
                                                                      os.path.getsize(part), size, part))
            time.sleep(min(2 ** attempt, 30))
            continue
        finally:
            if response is not None:
                response.close()
        got = os.path.getsize(part)
        if got != size:
            if attempt == retries:
                raise DownloadError("%s: got %d of %d bytes; re-run to resume" % (path, got, size))
            continue
        if hasher is not None and hasher.hexdigest() != etag:
            os.remove(part)
            if attempt == retries:
                raise DownloadError("%s: content does not match the hub's hash %s; deleted" % (path, etag))
            progress.adjust(-size)
            continue
        os.replace(part, os.path.join(blobs, etag))
        return fetched, reused
    raise DownloadError("%s: could not be fetched" % path)


class _NoRanges(Exception):
    """The server answered a range request with something else (the whole file, another range)."""


class _Mismatch(DownloadError):
    """The assembled file does not hash to its ETag (it was deleted)."""


def segment_layout(size, prefix, streams):
    """[[start, end, done], ...] covering [0, size) in order: the bytes already on disk (a one-stream run's prefix)
    as one finished range, the rest split into about streams x RANGES_PER_STREAM ranges of at least SEGMENT_MIN
    bytes. The streams take the ranges in order, so the file fills nearly front to back and its hash, which must read
    it in order, ends soon after the last byte arrives (with one range per stream it had three quarters of the file
    left to read then); few enough that each range's request setup stays small beside its transfer. The ranges begin
    at multiples of SEGMENT_MIN from the file's start, so a mirror that caches files in blocks of that size (olah:
    64 MiB) reads each block for one range, not for two."""
    segments = [[0, prefix, prefix]] if prefix else []
    rest = size - prefix
    count = max(1, min(streams * RANGES_PER_STREAM, rest // SEGMENT_MIN))
    step = max(1, int(round(float(rest) / (count * SEGMENT_MIN)))) * SEGMENT_MIN  # whole blocks per range
    bounds = [prefix] + list(range(-(-(prefix + 1) // step) * step, size, step)) + [size]
    # no range below SEGMENT_MIN: a short first one (after a one-stream run's prefix) or last one joins its neighbour
    if len(bounds) > 2 and bounds[1] - bounds[0] < SEGMENT_MIN:
        del bounds[1]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < SEGMENT_MIN:
        del bounds[-2]
    segments += [[start, end, 0] for start, end in zip(bounds, bounds[1:]) if end > start]
    return segments


def load_ranges(part, size):
    """The ranges recorded beside a partial file, or None when there are none or they do not describe it."""
    try:
        with open(part + RANGES_SUFFIX) as handle:
            segments = json.load(handle)
        if os.path.getsize(part) != size:
            return None
    except (OSError, ValueError):
        return None
    position = 0
    for segment in segments if isinstance(segments, list) else [None]:
        if not (isinstance(segment, list) and len(segment) == 3 and all(isinstance(v, int) for v in segment)):
            return None
        start, end, done = segment
        if start != position or end <= start or not 0 <= done <= end - start:
            return None
        position = end
    return segments if position == size else None


def partial_bytes(part, size):
    """Bytes of an interrupted download that a resumed run keeps."""
    segments = load_ranges(part, size)
    if segments is not None:
        return sum(done for _, _, done in segments)
    return os.path.getsize(part) if os.path.exists(part) else 0


class _Ranges(object):
    """The ranges of one file as they fill: recorded every RECORD_EVERY bytes of a range and when a range ends,
    watched by the hashing thread."""

    def __init__(self, record, segments):
        self.record, self.segments = record, segments
        self.changed = threading.Condition()
        self.stopped = False
        self.unsaved = [0] * len(segments)  # bytes each range holds beyond the record on disk

    def save(self):
        """Write the record (under self.changed, or once no range is running). The bytes it counts are on disk
        already (pwrite came first), so a resumed run never trusts more than the file holds."""
        temporary = self.record + ".tmp"
        with open(temporary, "w") as handle:
            json.dump(self.segments, handle)
        os.replace(temporary, self.record)
        self.unsaved = [0] * len(self.segments)

    def advance(self, index, n):
        with self.changed:
            start, end, done = self.segments[index]
            self.segments[index][2] = done + n
            self.unsaved[index] += n
            if self.unsaved[index] >= RECORD_EVERY or done + n >= end - start:
                self.save()
            self.changed.notify_all()

    def stop(self):
        with self.changed:
            self.stopped = True
            self.changed.notify_all()

    def contiguous(self):
        """Bytes from the start of the file that every range before them has filled."""
        for start, end, done in self.segments:
            if done < end - start:
                return start + done
        return self.segments[-1][1]


def hash_region(fd, hasher, start, end, window=MAP_WINDOW):
    """Feed bytes [start, end) of the open file `fd` to the hasher.

    Straight from the page cache through a read-only mapping, `window` bytes at a time: the hash of a file fetched as
    ranges is the longest single piece of work of a download (it must read the file in order, on one core), and
    reading it back into a buffer first (pread) made that thread copy every byte once more (0.07 s of 0.6 for the
    benchmark's 588 MiB on two cores). Where the file cannot be mapped (a file system without mmap) it is read back
    into one reused buffer instead."""
    while start < end:
        base = start - start % mmap.ALLOCATIONGRANULARITY  # a mapping starts on a multiple of this
        length = min(end - base, window)
        try:
            mapped = mmap.mmap(fd, length, prot=mmap.PROT_READ, offset=base)
        except (OSError, ValueError):
            _hash_read_back(fd, hasher, start, end)
            return
        with mapped, memoryview(mapped) as whole, whole[start - base:length] as part:
            hasher.update(part)  # hashlib lets go of the GIL while it hashes a large buffer
        start = base + length


def _hash_read_back(fd, hasher, start, end):
    view = memoryview(bytearray(BLOCK))
    while start < end:
        n = os.preadv(fd, [view[:min(BLOCK, end - start)]], start)
        if not n:
            raise OSError("the file ends at byte %d, before %d" % (start, end))
        hasher.update(view[:n])
        start += n


def _hash_following(ranges, fd, hasher, size, failures):
    """Hash the file in order while the ranges fill it: what lies below the contiguous prefix."""
    position = 0
    try:
        while position < size:
            with ranges.changed:
                while ranges.contiguous() <= position and not ranges.stopped:
                    ranges.changed.wait()
                limit = ranges.contiguous()
                if limit <= position:
                    return
            hash_region(fd, hasher, position, limit)
            position = limit
    except OSError as error:
        failures.append(error)


def _fetch_range(hub, repo, commit, path, ranges, index, fd, progress, retries):
    """Fill one range (its recorded part first), retrying a dropped connection from where it stopped."""
    start, end, _ = ranges.segments[index]
    fetched = 0  # over every attempt, as the one-stream path counts
    buffer = memoryview(bytearray(BLOCK))  # every block of this range is received here and written from here
    for attempt in range(retries + 1):
        if ranges.stopped:  # another range failed before this one began
            return fetched
        offset = start + ranges.segments[index][2]
        if offset >= end:
            return fetched
        response = None
        try:
            response = hub.open_range(repo, commit, path, offset, end)
            if response is None or response.status != 206 or not (
                    response.headers.get("Content-Range") or "").startswith("bytes %d-" % offset):
                raise _NoRanges()
            while offset < end:
                if ranges.stopped:  # another range failed: keep what arrived, let the next run resume
                    return fetched
                n = read_block(response, buffer[:min(BLOCK, end - offset)])
                if not n:
                    break
                pwrite_all(fd, buffer[:n], offset)
                offset += n
                fetched += n
                ranges.advance(index, n)
                progress.advance(n, path)
            if offset >= end:
                return fetched
            raise OSError("the connection closed at byte %d of %d-%d" % (offset, start, end))
        except (OSError, urllib.error.URLError, http.client.HTTPException) as error:
            if ranges.stopped or attempt == retries:
                raise DownloadError("%s: download interrupted %d times (%s); what arrived is kept in %s and the next "
                                    "run resumes from there." % (path, attempt + 1, error, ranges.record))
            time.sleep(min(2 ** attempt, 30))
        finally:
            if response is not None:
                response.close()
    return fetched


def _fetch_ranges(hub, repo, commit, path, etag, size, part, progress, retries, streams, pool=None):
    """Fetch a large file as parallel ranges into blobs/<etag>.incomplete, hashing it in order as it fills: on
    `pool`'s workers when given, else on `streams` of its own."""
    record = part + RANGES_SUFFIX
    segments = load_ranges(part, size)
    if segments is None:
        prefix = os.path.getsize(part) if os.path.exists(part) else 0
        segments = segment_layout(size, prefix if prefix <= size else 0, streams)
        with open(part, "ab" if prefix <= size else "wb"):
            pass
        os.truncate(part, size)
    ranges = _Ranges(record, segments)
    ranges.save()
    reused = sum(done for _, _, done in segments)
    progress.adjust(reused)
    hasher = new_hasher(etag, size)
    failures = []
    fd = os.open(part, os.O_RDWR)
    follower = None
    try:
        if hasher is not None:
            follower = threading.Thread(target=_hash_following, args=(ranges, fd, hasher, size, failures), daemon=True)
            follower.start()
        pending = [i for i, (start, end, done) in enumerate(segments) if done < end - start]
        fetched = 0
        errors = []
        own = pool is None
        if own:
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(streams, len(pending))))
        try:
            # in order, `streams` at a time (ThreadPoolExecutor starts queued jobs first come, first served)
            jobs = [pool.submit(_fetch_range, hub, repo, commit, path, ranges, i, fd, progress, retries)
                    for i in pending]
            for job in concurrent.futures.as_completed(jobs):
                try:
                    fetched += job.result()
                except Exception as error:  # pylint: disable=broad-except - every range stops, the first error wins
                    errors.append(error)
                    ranges.stop()  # the other ranges stop at their next block; what arrived stays recorded
        finally:
            if own:
                pool.shutdown()
        if any(isinstance(error, _NoRanges) for error in errors):
            progress.adjust(-sum(done for _, _, done in ranges.segments))  # this file starts over as one stream
            raise _NoRanges()
        if errors:
            if isinstance(errors[0], DownloadError):
                raise errors[0]
            raise DownloadError("%s: %s while fetching a range; what arrived is kept in %s and the next run resumes "
                                "from there" % (path, errors[0], part))
    finally:
        ranges.stop()
        if follower is not None:
            follower.join()
        os.close(fd)
        try:
            ranges.save()  # every range has stopped: record what each holds, for the next run
        except OSError:
            pass  # the last record written stays, and it never counts more than the file holds
    if failures:
        raise DownloadError("%s: could not read back %s to verify it (%s)" % (path, part, failures[0]))
    if hasher is not None and hasher.hexdigest() != etag:
        os.remove(part)
        os.remove(record)
        progress.adjust(-size)
        raise _Mismatch("%s: content does not match the hub's hash %s; deleted, the next run fetches it again"
                        % (path, etag))
    os.replace(part, os.path.join(os.path.dirname(part), etag))
    os.remove(record)
    return fetched, reused


def _link(snapshot, path, etag):
    """snapshots/<commit>/<path> -> ../../blobs/<etag> (relative, as huggingface_hub makes it). True if changed."""
    link = os.path.join(snapshot, path)
    target = os.path.relpath(os.path.join(os.path.dirname(os.path.dirname(snapshot)), "blobs", etag),
                             os.path.dirname(link))
    if os.path.islink(link) and os.readlink(link) == target:
        return False
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(target, link)
    return True


def snapshot_alias(revision):
    """The snapshots/ entry the plan names for a revision (the planner and the download agree through this).

    The revision is never joined into a path raw: '/' becomes '--' (refs/pr/1 -> refs--pr--1), and only the
    revision forms preflight accepts (a commit, a branch or tag name without '..', refs/pr/N) reach here.
    """
    return revision.replace("/", "--")


def _write_if_different(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as handle:
            if handle.read() == content:
                return False
    except OSError:
        pass
    with open(path, "w") as handle:
        handle.write(content)
    return True


def _fetch_missing(hub, repo, commit, missing, blobs, progress, streams):
    """Fetch the missing files over at most `streams` connections at once, the workers of one pool: the small files
    first, a connection each, then each large file as parallel ranges queued in order behind them. The ranges take
    the connections as the small files finish (they used to wait for the last small file, and the one 49 MiB file
    among the benchmark's kept three connections idle for a tenth of its 0.9 s), and the small files are complete
    early in a download that is interrupted. Returns {path: (bytes fetched, bytes reused)}; the first error is
    raised once every transfer has stopped (what arrived is kept for the next run)."""
    def fetch(item, file_streams, pool=None):
        if item["corrupt"]:
            os.remove(os.path.join(blobs, item["etag"]))
        return item["path"], fetch_blob(hub, repo, commit, item["path"], item["etag"], item["size"], blobs, progress,
                                        streams=file_streams, pool=pool)

    small = [item for item in missing if item["size"] < 2 * SEGMENT_MIN]
    large = [item for item in missing if item["size"] >= 2 * SEGMENT_MIN]
    outcome = {}

    def fetch_large():  # not a connection: queues each large file's transfers on `connections` and waits for them
        for item in large:
            outcome.update([fetch(item, streams, connections)])

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, streams)) as connections, \
            concurrent.futures.ThreadPoolExecutor(max_workers=1) as coordinator:
        jobs = [connections.submit(fetch, item, 1) for item in small]  # first come, first served
        if large:
            jobs.append(coordinator.submit(fetch_large))
        concurrent.futures.wait(jobs)
    for job in jobs:
        result = job.result()  # raises the first error
        if result is not None:  # fetch_large adds its own
            outcome.update([result])
    return outcome


def ensure_snapshot(hub, repo, revision, hf_home, patterns=None, check_mode=False, full_verify=False,
                    progress_file=None, streams=STREAMS):
    """Make HF_HOME hold a verified snapshot of repo@revision. Returns a result dict (see hf_snapshot)."""
    started = time.time()
    commit, files = hub.revision(repo, revision)
    wanted = select_files(files, patterns)
    if not wanted:
        raise DownloadError("%s@%s has no files matching %s (it has: %s)" % (
            repo, revision, patterns, ", ".join(files[:20]) or "none"))
    folder = repo_folder(hf_home, repo)
    blobs = os.path.join(folder, "blobs")
    snapshot = os.path.join(folder, "snapshots", commit)
    manifest = _load_manifest(blobs)
    plan = []
    # one HEAD per file, a few at a time (a mirror may ask upstream for each)
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(wanted))) as pool:
        metadata = list(pool.map(lambda p: hub.file_metadata(repo, commit, p), wanted))
    metadata_seconds = time.time() - started
    for path, (etag, size) in zip(wanted, metadata):
        good = blob_is_good(blobs, etag, size, manifest, full_verify)
        part = os.path.join(blobs, etag + ".incomplete")
        partial = partial_bytes(part, size) if not good else 0
        corrupt = not good and os.path.exists(os.path.join(blobs, etag))
        plan.append({"path": path, "etag": etag, "size": size, "present": good, "partial_bytes": partial,
                     "corrupt": corrupt})
    result = {"commit": commit, "repo": repo, "revision": revision, "snapshot_dir": snapshot,
              "files": [], "bytes_total": sum(p["size"] for p in plan), "bytes_fetched": 0, "bytes_reused": 0}
    missing = [p for p in plan if not p["present"]]
    result["bytes_to_fetch"] = sum(p["size"] - p["partial_bytes"] for p in missing)
    if check_mode:
        result["files"] = [dict(p, action="present" if p["present"] else "would fetch") for p in plan]
        result["changed"] = bool(missing) or not os.path.isdir(snapshot)
        return result
    os.makedirs(blobs, exist_ok=True)
    os.makedirs(os.path.join(folder, "refs"), exist_ok=True)
    progress = Progress(progress_file, result["bytes_to_fetch"])
    progress.total = sum(p["size"] for p in missing)
    changed = False
    outcome = _fetch_missing(hub, repo, commit, missing, blobs, progress, streams)
    for item in plan:
        action = "present"
        if not item["present"]:
            fetched, reused = outcome[item["path"]]
            result["bytes_fetched"] += fetched
            result["bytes_reused"] += reused
            manifest[item["etag"]] = _stat_key(os.path.join(blobs, item["etag"]))
            action = "re-fetched (corrupt)" if item["corrupt"] else "resumed" if reused else "fetched"
            changed = True
        changed = _link(snapshot, item["path"], item["etag"]) or changed
        result["files"].append({"path": item["path"], "size": item["size"], "etag": item["etag"], "action": action})
    with open(os.path.join(blobs, VERIFIED_MANIFEST), "w") as handle:
        json.dump(manifest, handle)
    refs = {revision, commit} if revision != commit else {commit}
    for ref in sorted(refs):
        changed = _write_if_different(os.path.join(folder, "refs", ref), commit) or changed
    if revision != commit:
        # the plan names snapshots/<revision>: point it at the commit's snapshot
        alias = os.path.join(folder, "snapshots", snapshot_alias(revision))
        if not (os.path.islink(alias) and os.readlink(alias) == commit):
            if os.path.lexists(alias):
                os.remove(alias)
            os.symlink(commit, alias)
            changed = True
    seconds = time.time() - started
    transfer = max(seconds - metadata_seconds, 1e-6)
    result.update(changed=changed, seconds=round(seconds, 2), metadata_seconds=round(metadata_seconds, 2),
                  rate_mib_s=round(result["bytes_fetched"] / max(seconds, 1e-6) / 1048576, 1),
                  transfer_rate_mib_s=round(result["bytes_fetched"] / transfer / 1048576, 1))
    return result
