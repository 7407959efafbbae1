#!/usr/bin/env python3
"""A local stand-in for the Hugging Face hub's HTTP API (the hub cannot be reached from here).

Serves repositories laid out as ROOT/<org>/<name>/<files> with the endpoints clients use:
  GET  /api/models/<org>/<name>[/revision/<rev>]  -> {"id", "sha", "siblings": [{"rfilename", "size", "lfs"?}]}
  POST /api/models/<org>/<name>/paths-info/<rev>  -> [{"type", "path", "size", "oid", "lfs"?}] for the form's
                                                     `paths` (what olah and huggingface_hub ask before a file)
  HEAD /<org>/<name>/resolve/<rev>/<path>         -> X-Repo-Commit, ETag, and for LFS-sized files (>= 1 MiB)
                                                     X-Linked-Etag (sha256) + X-Linked-Size, as the hub sends them
  GET  same                                       -> the bytes; honours Range (206 + Content-Range)
<rev> is "main" or the repository's commit (sha1 over its file list and hashes). It counts the body bytes it
sends per file: GET /_stats (?reset=1 clears). --rate-mib limits each response's rate (interruption tests).
Standard library only; runs on the host or in a test container.
"""
import argparse
import hashlib
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n"

LFS_THRESHOLD = 1 << 20
CHUNK = 1 << 20


def git_blob_sha1(path):
    size = os.path.getsize(path)
    hasher = hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            hasher.update(block)
    return hasher.hexdigest()


def sha256(path):
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            hasher.update(block)
    return hasher.hexdigest()


def scan(root):
    """{repo_id: {"sha": commit, "files": {rfilename: {path, size, etag, lfs}}}}"""
    repos = {}
    for org in sorted(os.listdir(root)):
        for name in sorted(os.listdir(os.path.join(root, org))):
            base = os.path.join(root, org, name)
            if not os.path.isdir(base):
                continue
            files = {}
            for folder, _dirs, names in os.walk(base):
                for filename in names:
                    path = os.path.join(folder, filename)
                    rel = os.path.relpath(path, base)
                    size = os.path.getsize(path)
                    lfs = size >= LFS_THRESHOLD
                    etag = sha256(path) if lfs else git_blob_sha1(path)
                    # git's object id: of the file, or of its LFS pointer
                    pointer = (LFS_POINTER % (etag, size)).encode()
                    oid = hashlib.sha1(b"blob %d\0" % len(pointer) + pointer).hexdigest() if lfs else etag
                    files[rel] = {"path": path, "size": size, "lfs": lfs, "etag": etag, "oid": oid,
                                  "pointer_size": len(pointer)}
            listing = "".join("%s %s\n" % (rel, files[rel]["etag"]) for rel in sorted(files))
            repos["%s/%s" % (org, name)] = {"sha": hashlib.sha1(listing.encode()).hexdigest(), "files": files}
    return repos


class Stats(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.bytes, self.requests = {}, {}

    def add(self, key, n):
        with self.lock:
            self.bytes[key] = self.bytes.get(key, 0) + n

    def request(self, key):
        with self.lock:
            self.requests[key] = self.requests.get(key, 0) + 1

    def snapshot(self):
        with self.lock:
            return {"bytes": dict(self.bytes), "total_bytes": sum(self.bytes.values()),
                    "requests": dict(self.requests)}


def make_handler(repos, stats, rate, ignore_ranges=False, corrupt_once=False):
    # --corrupt-once: the first response that carries the middle byte of an LFS file carries it flipped
    corrupted = set()
    # a revision may hold slashes (refs/pr/1, quoted as refs%2Fpr%2F1 by clients)
    api = re.compile(r"^/api/models/([^/]+/[^/]+)(?:/revision/(.+))?$")
    paths_info = re.compile(r"^/api/models/([^/]+/[^/]+)/paths-info/([^/]+)$")
    resolve = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet
            pass

        def _json(self, code, payload):
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _repo(self, repo_id, rev):
            repo = repos.get(repo_id)
            # the hub resolves a pull request's ref to its head commit: here, the one commit of each repository
            if repo is None or rev not in ("main", "refs/pr/1", repo["sha"]):
                return None
            return repo

        def do_GET(self):
            self._serve()

        def do_HEAD(self):
            self._serve()

        def do_POST(self):
            match = paths_info.match(unquote(urlparse(self.path).path))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if not match:
                return self._json(404, {"error": "not found"})
            repo = self._repo(match.group(1), match.group(2))
            if repo is None:
                return self._json(404, {"error": "Repository or revision not found"})
            if "json" in (self.headers.get("Content-Type") or ""):
                paths = json.loads(body or "{}").get("paths", [])
            else:
                paths = parse_qs(body).get("paths", [])
            paths = [paths] if isinstance(paths, str) else paths
            entries = []
            for rel in paths:
                info = repo["files"].get(rel)
                if info is None:
                    continue
                entry = {"type": "file", "path": rel, "size": info["size"], "oid": info["oid"]}
                if info["lfs"]:
                    entry["lfs"] = {"oid": info["etag"], "size": info["size"], "pointerSize": info["pointer_size"]}
                entries.append(entry)
            return self._json(200, entries)

        def _serve(self):
            url = urlparse(self.path)
            path = unquote(url.path)
            if path == "/_stats":
                payload = stats.snapshot()
                if parse_qs(url.query).get("reset"):
                    stats.reset()
                return self._json(200, payload)
            match = api.match(path)
            if match:
                repo = self._repo(match.group(1), match.group(2) or "main")
                if repo is None:
                    return self._json(404, {"error": "Repository or revision not found"})
                siblings = []
                for rel, info in sorted(repo["files"].items()):
                    entry = {"rfilename": rel, "size": info["size"]}
                    entry["blobId"] = info["oid"]
                    if info["lfs"]:
                        entry["lfs"] = {"sha256": info["etag"], "size": info["size"],
                                        "pointerSize": info["pointer_size"]}
                    siblings.append(entry)
                return self._json(200, {"id": match.group(1), "modelId": match.group(1), "sha": repo["sha"],
                                        "siblings": siblings, "private": False, "gated": False})
            match = resolve.match(path)
            if not match:
                return self._json(404, {"error": "not found"})
            repo = self._repo(match.group(1), match.group(2))
            info = repo and repo["files"].get(match.group(3))
            if info is None:
                return self._json(404, {"error": "Entry not found"})
            key = "%s/%s" % (match.group(1), match.group(3))
            stats.request(key)
            size, start = info["size"], 0
            ranged = self.headers.get("Range", "")
            m = None if ignore_ranges else re.match(r"bytes=(\d+)-(\d*)$", ranged)
            end = size - 1
            if m:
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else size - 1
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % size)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(end - start + 1))
            if not ignore_ranges:
                self.send_header("Accept-Ranges", "bytes")
            self.send_header("X-Repo-Commit", repo["sha"])
            self.send_header("ETag", '"%s"' % info["etag"])
            if info["lfs"]:
                self.send_header("X-Linked-Etag", '"%s"' % info["etag"])
                self.send_header("X-Linked-Size", str(size))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if self.command == "HEAD":
                return
            remaining = end - start + 1
            began = time.time()
            sent = 0
            with open(info["path"], "rb") as handle:
                handle.seek(start)
                while remaining > 0:
                    position = handle.tell()
                    block = handle.read(min(CHUNK // 4, remaining))
                    middle = size // 2
                    if corrupt_once and info["lfs"] and position <= middle < position + len(block):
                        with stats.lock:
                            first = key not in corrupted
                            corrupted.add(key)
                        if first:
                            block = block[:middle - position] + bytes([block[middle - position] ^ 0xFF]) + \
                                block[middle - position + 1:]
                    if not block:
                        break
                    try:
                        self.wfile.write(block)
                    except (BrokenPipeError, ConnectionResetError):
                        break
                    stats.add(key, len(block))
                    remaining -= len(block)
                    sent += len(block)
                    if rate:
                        ahead = sent / (rate * 1048576) - (time.time() - began)
                        if ahead > 0:
                            time.sleep(ahead)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rate-mib", type=float, default=0, help="limit each response to this many MiB/s")
    parser.add_argument("--ignore-ranges", action="store_true",
                        help="answer every GET with the whole file (200), as a server without range support does")
    parser.add_argument("--corrupt-once", action="store_true",
                        help="flip the middle byte of each LFS file in the first response that carries it")
    args = parser.parse_args()
    repos = scan(args.root)
    for repo_id, repo in sorted(repos.items()):
        print("serving %s @ %s (%d files, %d bytes)" % (repo_id, repo["sha"], len(repo["files"]),
                                                         sum(f["size"] for f in repo["files"].values())), flush=True)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(repos, Stats(), args.rate_mib, args.ignore_ranges,
                                                                       args.corrupt_once))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
