#!/usr/bin/env python3
"""An HTTP receiver for the notification tests (tests/integration/notify_test.cc).

Answers every POST with the configured status (200 by default) and the
configured reply body (WeCom/DingTalk's {"errcode":0,"errmsg":"ok"} by
default), after an optional delay, and appends one JSON line per request to
the log: {"path", "status", "headers" (lower-case names), "body"}. The line
is written before the answer goes out, so a request the client saw
accepted is always in the log.

  GET /__control?status=500&delay_ms=20&reply=TEXT   changes the behaviour

Prints "listening PORT" once it accepts connections.
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--status", type=int, default=200)
parser.add_argument("--delay-ms", type=int, default=0)
args = parser.parse_args()

lock = threading.Lock()
state = {"status": args.status, "delay_ms": args.delay_ms,
         "reply": '{"errcode":0,"errmsg":"ok"}'}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *unused):
        pass

    def answer(self, status, body):
        data = b"" if status in (204, 304) else body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/__control":
            self.answer(404, "{}")
            return
        q = parse_qs(url.query)
        with lock:
            if "status" in q:
                state["status"] = int(q["status"][0])
            if "delay_ms" in q:
                state["delay_ms"] = int(q["delay_ms"][0])
            if "reply" in q:
                state["reply"] = q["reply"][0]
        self.answer(200, "{}")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with lock:
            status, delay, reply = state["status"], state["delay_ms"], state["reply"]
        if delay:
            time.sleep(delay / 1000.0)
        record = {
            "path": self.path,
            "status": status,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        with lock:
            with open(args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                f.flush()
        self.answer(status, reply)


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
server.daemon_threads = True
print("listening", args.port, flush=True)
server.serve_forever()
