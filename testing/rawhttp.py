"""HTTP requests with the request target sent byte for byte (httpx would normalise dot segments away)."""

from __future__ import annotations

import http.client
import select
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    header_list: tuple[tuple[str, str], ...] = ()  # every header as sent, repeats included

    def json(self):
        return orjson.loads(self.body)


def raw_request(base_url: str, method: str, target: str, *, headers: dict[str, str] | None = None,
                body: bytes | None = None, timeout: float = 30) -> RawResponse:
    """Send ``method target`` exactly as written (``--path-as-is``) and return the whole answer."""
    where = urlsplit(base_url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        sent = {k.lower() for k in (headers or {})}
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None and "content-length" not in sent:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        sent_headers = tuple((k.lower(), v) for k, v in response.getheaders())
        return RawResponse(response.status, dict(sent_headers), response.read(), sent_headers)
    finally:
        conn.close()


def send_oversize(base_url: str, target: str, *, declared: int | None, send_bytes: int,
                  headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    """POST up to ``send_bytes`` of body (``declared`` as Content-Length, or chunked when None).

    Stop sending as soon as the server answers or closes; return the status and body of its answer.
    """
    where = urlsplit(base_url)
    sock = socket.create_connection((where.hostname, where.port), timeout=timeout)
    length = None
    try:
        head = [f"POST {target} HTTP/1.1", f"Host: {where.hostname}:{where.port}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        head.append(f"Content-Length: {declared}" if declared is not None else "Transfer-Encoding: chunked")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = b"x" * 65536
        piece = chunk if declared is not None else f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sent = 0
        while sent < send_bytes and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(piece)
            except OSError:
                break  # the server answered and stopped reading, or closed
            sent += len(chunk)
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                more = sock.recv(65536)
                if not more:
                    break
                received += more
            head_bytes, _, body = received.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head_bytes.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), None)
            while length is not None and len(received.partition(b"\r\n\r\n")[2]) < length:
                more = sock.recv(65536)
                if not more:
                    break
                received += more
        except OSError:
            pass  # a reset after the answer: what arrived is the answer
        head_bytes, _, body = received.partition(b"\r\n\r\n")
        status = int(head_bytes.split(b" ", 2)[1]) if head_bytes.startswith(b"HTTP/") else 0
        return status, body[:length] if length is not None else body
    finally:
        sock.close()
