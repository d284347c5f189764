#!/usr/bin/env python3
"""tl_server.py PORT: the telemetry test's backend. HTTP/1.1 keep-alive; the path chooses the
answer: /ok 200, /missing 404, /slow 503 after 35 ms, POST 201 (its body read by
Content-Length). Headers and body go out in two writes, as many servers do."""
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code):
        body = b"x" * 40
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/slow":
            time.sleep(0.035)
            self.answer(503)
        else:
            self.answer(200 if self.path == "/ok" else 404)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(201)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
