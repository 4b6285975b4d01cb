"""A local fake of the Hugging Face Hub's HTTP API: the endpoints huggingface_hub 2.4 calls to create a Space,
upload a folder to it, set its variables and hardware. For tests only; no network.

The routes and payloads are read from the installed client, not guessed:
- agent registry:    GET  /api/agent-harnesses (empty)                    (utils/_detect_agent.py, user agent)
- whoami:            GET  /api/whoami-v2                                  (hf_api.py, `_inner_whoami`)
- create_repo:       POST /api/repos/create {name, organization, type, sdk, visibility}; 409 when it exists
- repo info:         GET  /api/spaces/{id}[/revision/{rev}]               (`space_info`, used by create_repo on
                                                                           401/402/403 with exist_ok, and by an
                                                                           empty commit)
- tree:              GET  /api/spaces/{id}/tree/{rev}?recursive=True      (`list_repo_files` for delete_patterns)
- README metadata:   POST /api/validate-yaml {content, repoType}          (`_validate_yaml`)
- preupload:         POST /api/spaces/{id}/preupload/{rev} {files: [{path, sample, size}]} ->
                     {files: [{path, uploadMode, shouldIgnore, oid}]}     (_commit_api.py, `_fetch_upload_modes`)
- LFS batch:         POST /spaces/{id}.git/info/lfs/objects/batch         (lfs.py, `post_lfs_batch_info`), then
                     PUT the `upload` href and POST the `verify` href     (lfs.py, `lfs_upload`)
- commit:            POST /api/spaces/{id}/commit/{rev}, NDJSON: header, file (base64), lfsFile, deletedFile
                                                                          (_commit_api.py, `_prepare_commit_payload`)
- variables:         POST /api/spaces/{id}/variables {key, value}         (hf_api.py, `add_space_variable`)
- hardware:          POST /api/spaces/{id}/hardware {flavor}              (hf_api.py, `request_space_hardware`)

Rules of the real Hub it keeps, so that a client that skips them fails here as it would there: the token
must be sent; a file that is binary (a NUL byte in its first 512 bytes, the sample the client sends) or
over 10 MiB must go as LFS (preupload says "lfs", and a commit that carries it inline is refused); an
lfsFile entry must name an object uploaded through the batch API with that size and sha256.
What it is not: no Xet (CAS) server; run the client with HF_HUB_DISABLE_XET=1, which makes the installed
huggingface_hub use the LFS batch API instead of hf_xet.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

LFS_SIZE = 10 * 1024 * 1024  # https://huggingface.co/docs/hub/repositories-recommendations: 10 MiB


def git_blob_oid(content: bytes) -> str:
    """The oid git (and the Hub) gives a regular file: sha1 of 'blob <size>\\0' + content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def needs_lfs(sample: bytes, size: int) -> bool:
    return size > LFS_SIZE or b"\0" in sample


@dataclass
class Space:
    sdk: str
    visibility: str | None
    files: dict = field(default_factory=dict)  # path -> ("regular", bytes) | ("lfs", sha256 hex, size)
    variables: dict = field(default_factory=dict)
    hardware: list = field(default_factory=list)  # flavours requested, in order
    commits: list = field(default_factory=list)  # each: list of NDJSON lines after the header


@dataclass
class Hub:
    token: str
    user: str = "alice"
    spaces: dict = field(default_factory=dict)  # repo id -> Space
    lfs: dict = field(default_factory=dict)  # sha256 hex -> bytes
    calls: list = field(default_factory=list)  # (method, path) of every request, in order
    readmes: list = field(default_factory=list)  # contents sent to validate-yaml


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: Hub  # set on the subclass made by `serve`
    base: str

    def log_message(self, *args):
        pass

    # --- plumbing ---------------------------------------------------------------------------------------

    def body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, payload=None, headers: dict | None = None):
        data = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status >= 400:
            self.send_header("X-Error-Message", (payload or {}).get("error", ""))
        self.end_headers()
        self.wfile.write(data)

    def authorised(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.hub.token}"

    def space(self, parts) -> tuple[str, Space | None]:
        repo_id = f"{parts[0]}/{parts[1]}"
        return repo_id, self.hub.spaces.get(repo_id)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def route(self, method: str):
        url = urlparse(self.path)
        path = unquote(url.path)
        self.hub.calls.append((method, path))
        data = self.body()
        parts = path.strip("/").split("/")
        if (method, path) == ("GET", "/api/agent-harnesses"):  # the client's user-agent registry (_detect_agent.py)
            return self.reply(200, {"standardEnvVars": [], "harnesses": {}})
        if not self.authorised() and not path.startswith("/lfs-"):
            return self.reply(401, {"error": "Invalid credentials in Authorization header"})
        if (method, path) == ("GET", "/api/whoami-v2"):
            return self.reply(200, {"type": "user", "name": self.hub.user, "orgs": [],
                                    "auth": {"accessToken": {"role": "write"}}})
        if (method, path) == ("POST", "/api/repos/create"):
            return self.create(json.loads(data))
        if (method, path) == ("POST", "/api/validate-yaml"):
            self.hub.readmes.append(json.loads(data)["content"])
            return self.reply(200, {"errors": [], "warnings": []})
        if method == "PUT" and path.startswith("/lfs-upload/"):
            oid = parts[-1]
            if hashlib.sha256(data).hexdigest() != oid:
                return self.reply(400, {"error": "sha256 does not match the uploaded content"})
            self.hub.lfs[oid] = data
            return self.reply(200)
        if method == "POST" and path.startswith("/lfs-verify/"):
            request = json.loads(data)
            stored = self.hub.lfs.get(request["oid"])
            ok = stored is not None and len(stored) == request["size"]
            return self.reply(200 if ok else 404, {} if ok else {"error": "object not uploaded"})
        if method == "POST" and parts[0] == "spaces" and path.endswith(".git/info/lfs/objects/batch"):
            return self.batch(json.loads(data))
        if parts[:2] == ["api", "spaces"] and len(parts) >= 4:
            repo_id, space = self.space(parts[2:4])
            if space is None:
                return self.reply(404, {"error": "Repository not found"})
            rest = parts[4:]
            if method == "GET" and rest[:1] in ([], ["revision"]):
                return self.reply(200, {"id": repo_id, "sha": self.sha(space), "sdk": space.sdk,
                                        "private": space.visibility == "private", "siblings": []})
            if method == "GET" and rest[:1] == ["tree"]:
                return self.reply(200, [{"type": "file", "path": p, "size": self.size(f), "oid": self.oid(f)}
                                        for p, f in sorted(space.files.items())])
            if method == "POST" and rest[:1] == ["preupload"]:
                return self.preupload(space, json.loads(data))
            if method == "POST" and rest[:1] == ["commit"]:
                return self.commit(repo_id, space, data)
            if method == "POST" and rest == ["variables"]:
                request = json.loads(data)
                space.variables[request["key"]] = request["value"]
                return self.reply(200, {k: {"value": v} for k, v in space.variables.items()})
            if method == "POST" and rest == ["hardware"]:
                space.hardware.append(json.loads(data)["flavor"])
                return self.reply(200, {"stage": "BUILDING", "hardware": {"current": None,
                                                                          "requested": space.hardware[-1]}})
        return self.reply(404, {"error": f"the fake Hub has no route for {method} {path}"})

    # --- the Hub's rules ----------------------------------------------------------------------------------

    @staticmethod
    def size(f) -> int:
        return len(f[1]) if f[0] == "regular" else f[2]

    @staticmethod
    def oid(f) -> str:
        return git_blob_oid(f[1]) if f[0] == "regular" else f[1]

    @staticmethod
    def sha(space: Space) -> str:
        return hashlib.sha1(repr(space.commits).encode()).hexdigest()

    def create(self, request: dict):
        repo_id = f"{request.get('organization') or self.hub.user}/{request['name']}"
        if request.get("type") != "space":
            return self.reply(400, {"error": "the fake Hub only makes Spaces"})
        if repo_id in self.hub.spaces:
            return self.reply(409, {"error": "You already created this space repo", "url": self.url(repo_id)})
        self.hub.spaces[repo_id] = Space(sdk=request.get("sdk"), visibility=request.get("visibility"))
        return self.reply(200, {"url": self.url(repo_id), "name": repo_id})

    def url(self, repo_id: str) -> str:
        return f"{self.base}/spaces/{repo_id}"

    def preupload(self, space: Space, request: dict):
        files = []
        for f in request["files"]:
            mode = "lfs" if needs_lfs(base64.b64decode(f["sample"]), f["size"]) else "regular"
            present = space.files.get(f["path"])
            files.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False,
                          "oid": self.oid(present) if present else None})
        return self.reply(200, {"files": files, "commitOid": self.sha(space)})

    def batch(self, request: dict):
        objects = []
        for o in request["objects"]:
            entry = {"oid": o["oid"], "size": o["size"], "authenticated": True}
            if o["oid"] not in self.hub.lfs:  # already stored: no actions, the client skips the upload
                entry["actions"] = {"upload": {"href": f"{self.base}/lfs-upload/{o['oid']}"},
                                    "verify": {"href": f"{self.base}/lfs-verify/{o['oid']}"}}
            objects.append(entry)
        return self.reply(200, {"transfer": "basic", "objects": objects})

    def commit(self, repo_id: str, space: Space, data: bytes):
        if "ndjson" not in self.headers.get("Content-Type", ""):
            return self.reply(400, {"error": "a commit is NDJSON"})
        lines = [json.loads(line) for line in data.splitlines() if line.strip()]
        if not lines or lines[0]["key"] != "header":
            return self.reply(400, {"error": "a commit starts with its header"})
        staged = dict(space.files)
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                content = base64.b64decode(value["content"])
                if needs_lfs(content[:512], len(content)):
                    return self.reply(400, {"error": f"Your push was rejected: {value['path']} is binary or over "
                                                     f"10 MiB and must be stored with LFS or Xet"})
                staged[value["path"]] = ("regular", content)
            elif line["key"] == "lfsFile":
                stored = self.hub.lfs.get(value["oid"])
                if stored is None or len(stored) != value["size"]:
                    return self.reply(400, {"error": f"LFS object of {value['path']} was not uploaded"})
                staged[value["path"]] = ("lfs", value["oid"], value["size"])
            elif line["key"] == "deletedFile":
                if value["path"] not in staged:
                    return self.reply(404, {"error": "A file with this name doesn't exist"})
                del staged[value["path"]]
            else:
                return self.reply(400, {"error": f"the fake Hub does not take {line['key']}"})
        space.files = staged
        space.commits.append(lines[1:])
        sha = self.sha(space)
        return self.reply(200, {"commitUrl": f"{self.url(repo_id)}/commit/{sha}", "commitOid": sha,
                                "pullRequestUrl": None})


class FakeHub:
    """`with FakeHub(token) as hub:` serves on 127.0.0.1 on a free port; `hub.endpoint` is its URL."""

    def __init__(self, token: str):
        self.state = Hub(token=token)

    def __enter__(self):
        handler = type("BoundHandler", (Handler,), {"hub": self.state})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        handler.base = self.endpoint
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
