#!/usr/bin/env python3
"""webhook_server.py: a small HTTPS admission webhook for kubectl_webhook.sh.

Usage: webhook_server.py CERT KEY PORT_FILE LOG

Serves AdmissionReview (admission.k8s.io/v1) on 127.0.0.1, on a free port it writes to
PORT_FILE; every call appends "PATH OPERATION NAME" to LOG, and a line "# NAME kind=...
requestKind=... object=<apiVersion> review=<apiVersion> user=U namespace=NS" with the versions,
user and namespace of the review. Paths:
  /mutate  allowed, a JSON patch that adds the label mutated-by=webhook, and a warning
  /mutate2 adds the label second=yes when it is not there
  /deny    refuses deny-code-* (code 403, reason Forbidden), deny-* (no code), a DELETE of
           keep-*, an UPDATE that adds the label refuse or has no oldObject; allows anything else
  /dryrun  refuses a request with dryRun true (and dryRun [All] in its options)
  /slow    answers after 3 s (the test's timeoutSeconds is 1)
  /allow   allows
"""
import base64
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CERT, KEY, PORT_FILE, LOG = sys.argv[1:5]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req = body["request"]
        obj = req.get("object") or req.get("oldObject") or {}
        name = (obj.get("metadata") or {}).get("name", "")
        with open(LOG, "a") as f:
            f.write("%s %s %s\n" % (path, req["operation"], name))
            # the versions: what the rules matched, what the client sent, the object's
            f.write("# %s kind=%s/%s requestKind=%s/%s object=%s review=%s user=%s "
                    "namespace=%s\n" % (
                        name, req["kind"]["group"], req["kind"]["version"],
                        req["requestKind"]["group"], req["requestKind"]["version"],
                        obj.get("apiVersion"), body.get("apiVersion"),
                        req["userInfo"].get("username", ""), req.get("namespace", "")))
        resp = {"uid": req["uid"], "allowed": True}
        if path == "/mutate":
            patch = []
            if not (req["object"].get("metadata") or {}).get("labels"):
                patch.append({"op": "add", "path": "/metadata/labels", "value": {}})
            patch.append({"op": "add", "path": "/metadata/labels/mutated-by", "value": "webhook"})
            resp["patchType"] = "JSONPatch"
            resp["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
            resp["warnings"] = ["mutated by the test webhook"]
        elif path == "/mutate2":
            # a second mutation after /mutate's, which makes /mutate (IfNeeded) run again
            if "second" not in (req["object"]["metadata"].get("labels") or {}):
                patch = [{"op": "add", "path": "/metadata/labels/second", "value": "yes"}]
                resp["patchType"] = "JSONPatch"
                resp["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
        elif path == "/deny":
            labels = ((req.get("object") or {}).get("metadata") or {}).get("labels") or {}
            old = ((req.get("oldObject") or {}).get("metadata") or {}).get("labels") or {}
            if req["operation"] == "UPDATE" and not req.get("oldObject"):
                resp = {"uid": req["uid"], "allowed": False,
                        "status": {"message": "an UPDATE without oldObject"}}
            elif req["operation"] == "UPDATE" and "refuse" in labels and "refuse" not in old:
                resp = {"uid": req["uid"], "allowed": False,
                        "status": {"message": "label refuse added"}}
            elif req["operation"] == "DELETE" and name.startswith("keep-"):
                resp = {"uid": req["uid"], "allowed": False,
                        "status": {"message": "keep-* stays"}}
            elif name.startswith("deny-code-"):
                resp = {"uid": req["uid"], "allowed": False,
                        "status": {"code": 403, "reason": "Forbidden",
                                   "message": "deny-code-* is refused"}}
            elif name.startswith("deny-"):
                resp = {"uid": req["uid"], "allowed": False,
                        "status": {"message": "deny-* is refused"}}
        elif path == "/dryrun":
            if req.get("dryRun") is True and req["options"].get("dryRun") == ["All"]:
                resp = {"uid": req["uid"], "allowed": False,
                        "status": {"message": "dry run seen"}}
        elif path == "/slow":
            time.sleep(3)
        out = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                          "response": resp}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()
