"""A webhook receiver for the notification tests, on 127.0.0.1.

    webhook_receiver.py PORT OUTDIR SECRET [--status CODE] [--cert F --key F]

Stores each POST as JSON in OUTDIR: headers, the body, and whether the
X-Finetuned-Signature header is the HMAC-SHA256 of "<X-Finetuned-Timestamp>.<X-Finetuned-Delivery>.<body>"
under SECRET with a timestamp within five minutes, checked here with Python's own hmac module
(as the README tells receivers to). Answers CODE (default 204). Prints "ready" once listening.
"""
import argparse, hashlib, hmac, http.server, json, os, ssl, time

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("outdir")
p.add_argument("secret")
p.add_argument("--status", type=int, default=204)
p.add_argument("--cert")
p.add_argument("--key")
a = p.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        timestamp = self.headers.get("X-Finetuned-Timestamp", "")
        delivery = self.headers.get("X-Finetuned-Delivery", "")
        signed = timestamp.encode() + b"." + delivery.encode() + b"." + body
        expected = "sha256=" + hmac.new(a.secret.encode(), signed, hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        record = {"path": self.path, "headers": dict(self.headers), "body": body.decode(),
                  "signature_valid": fresh and hmac.compare_digest(expected, self.headers.get("X-Finetuned-Signature", ""))}
        name = os.path.join(a.outdir, "%d.json" % time.time_ns())
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        self.send_response(a.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", a.port), Handler)
if a.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(a.cert, a.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
