"""A webhook receiver for the tests: verifies every request with the Standard
Webhooks reference library and records, per request, which secrets verify it.

    python receiver.py        # prints "PORT <n>" once listening on 127.0.0.1
    PUT  /_secrets  ["whsec_…", …]   secrets to try (the answer is 200 if one verifies, else 400)
    GET  /_results                   [{"id", "type", "verified_by": [index of each secret that verifies]}]
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

lock = threading.Lock()
secrets = []
results = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _read(self):
        n = int(self.headers.get("content-length", "0"))
        return self.rfile.read(n)

    def _answer(self, code, body=b""):
        self.send_response(code)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        global secrets
        body = self._read()
        with lock:
            secrets = json.loads(body)
        self._answer(200)

    def do_GET(self):
        with lock:
            body = json.dumps(results).encode()
        self._answer(200, body)

    def do_POST(self):
        body = self._read()
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            current = list(secrets)
        verified_by = []
        for i, s in enumerate(current):
            try:
                Webhook(s).verify(body, headers)
                verified_by.append(i)
            except WebhookVerificationError:
                pass
        payload = json.loads(body)
        with lock:
            results.append({
                "id": payload["id"],
                "webhook_id": headers.get("webhook-id"),
                "type": payload["type"],
                "verified_by": verified_by,
            })
        self._answer(200 if verified_by else 400)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("PORT", server.server_address[1], flush=True)
server.serve_forever()
