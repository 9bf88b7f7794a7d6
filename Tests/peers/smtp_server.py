"""A real SMTP server for the notification tests (aiosmtpd), on 127.0.0.1.

    smtp_server.py PORT MODE OUTDIR [--cert F --key F] [--user U --password P] [--only-login] [--fail-rcpt CODE]
                   [--drop-after-data] [--silent]

MODE is starttls (STARTTLS required before AUTH and MAIL), tls (implicit TLS) or plain.
Each message is parsed with Python's email package and stored in OUTDIR as JSON: the
envelope, the decoded headers, and the text of each MIME part. Prints "ready" once listening.
"""
import argparse, asyncio, email, email.policy, json, os, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("mode", choices=["starttls", "tls", "plain"])
p.add_argument("outdir")
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--user")
p.add_argument("--password")
p.add_argument("--only-login", action="store_true")
p.add_argument("--fail-rcpt", type=int)
p.add_argument("--drop-after-data", action="store_true")
p.add_argument("--silent", action="store_true")
a = p.parse_args()

if a.silent:
    # Accepts connections and never says a word: the client's deadline must fire.
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen()
    print("ready", flush=True)
    conns = []
    while True:
        c, _ = s.accept()
        conns.append(c)

context = None
if a.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(a.cert, a.key)


def authenticator(server, session, envelope, mechanism, auth_data):
    if mechanism not in ("LOGIN", "PLAIN") or not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    if auth_data.login.decode() == a.user and auth_data.password.decode() == a.password:
        return AuthResult(success=True)
    # handled=False lets aiosmtpd send 535; handled=True without a reply hangs the client.
    return AuthResult(success=False, handled=False)


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if a.fail_rcpt:
            return "%d 4.2.2 Mailbox full, try again later" % a.fail_rcpt if a.fail_rcpt < 500 else "%d 5.1.1 No such user" % a.fail_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if a.drop_after_data:
            server.transport.close()
            return "250 never sent"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if part.get_content_maintype() == "text":
                parts[part.get_content_type()] = part.get_content()
        record = {
            "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["subject"]), "from": str(message["from"]), "to": str(message["to"]),
            "date": str(message["date"]), "message_id": str(message["message-id"]),
            "content_type": message.get_content_type(), "parts": parts,
            # aiosmtpd does not mark an implicit-TLS session; the port speaks nothing else.
            "tls": a.mode == "tls" or session.ssl is not None, "auth": session.authenticated,
        }
        name = os.path.join(a.outdir, "%d-%d.json" % (time.time_ns(), len(os.listdir(a.outdir))))
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return "250 2.0.0 Queued"


class LoginOnlySMTP(SMTP):
    """Advertises AUTH LOGIN only, so the client must use it."""
    async def smtp_EHLO(self, hostname):
        await super().smtp_EHLO(hostname)


# With implicit TLS aiosmtpd does not know the session is encrypted, so it must not insist.
kwargs = dict(hostname="127.0.0.1", port=a.port, authenticator=authenticator if a.user else None,
              auth_required=bool(a.user), auth_require_tls=a.mode == "starttls")
if a.only_login:
    kwargs["auth_exclude_mechanism"] = ["PLAIN"]
if a.mode == "starttls":
    kwargs.update(tls_context=context, require_starttls=True)
elif a.mode == "tls":
    kwargs.update(ssl_context=context)
controller = Controller(Handler(), **kwargs)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
