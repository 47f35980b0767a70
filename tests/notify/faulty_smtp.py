"""A small SMTP server on a socket that fails on cue, for the mail server's failures.

``refuse_mail``: how many ``MAIL FROM`` commands to answer ``451`` before taking
them; ``end_of_data``: what follows the message itself: ``"250"``, ``"451"``,
``"550"``, or ``"drop"`` (the connection is closed without an answer, after the
whole message arrived). ``refuse_connections``: how many connections to close at
once. Every message received (the final dot included) is kept in ``received``.
"""

from __future__ import annotations

import socket
import socketserver
import threading


class FaultySmtp:
    def __init__(self, *, refuse_mail: int = 0, end_of_data: str = "250",
                 refuse_connections: int = 0) -> None:
        self.refuse_mail = refuse_mail
        self.end_of_data = end_of_data
        self.refuse_connections = refuse_connections
        self.received: list[bytes] = []
        self.mail_commands = 0
        self.connections = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                owner._serve(self.rfile, self.wfile, self.connection)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FaultySmtp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, rfile, wfile, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            refuse = self.refuse_connections > 0
            if refuse:
                self.refuse_connections -= 1
        if refuse:
            return

        def say(line: str) -> None:
            wfile.write(line.encode() + b"\r\n")
            wfile.flush()

        say("220 faulty.test ESMTP")
        while True:
            line = rfile.readline()
            if not line:
                return
            command = line.decode("ascii", "replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                say("250 faulty.test")
            elif command.startswith("MAIL FROM"):
                with self._lock:
                    self.mail_commands += 1
                    refuse_now = self.refuse_mail > 0
                    if refuse_now:
                        self.refuse_mail -= 1
                say("451 4.3.0 Try again later" if refuse_now else "250 OK")
            elif command.startswith("RCPT TO"):
                say("250 OK")
            elif command == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                body = b""
                while not body.endswith(b"\r\n.\r\n"):
                    chunk = rfile.readline()
                    if not chunk:
                        return
                    body += chunk
                with self._lock:
                    self.received.append(body)
                if self.end_of_data == "drop":
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                say({"250": "250 OK queued", "451": "451 4.3.0 Not now",
                     "550": "550 5.1.1 Mailbox unavailable",
                     "garbled": "OK queued as 1234"}[self.end_of_data])
            elif command == "QUIT":
                say("221 Bye")
                return
            elif command == "RSET" or command == "NOOP":
                say("250 OK")
            else:
                say("502 Not implemented")
