#!/usr/bin/env python3
"""Smoke tests of the examples, run by `meson test` (suite 'examples').

    smoke.py NAME EXAMPLE [HELPER]

Each check starts what the example needs (a DNS responder, an HTTP server),
runs the example, and checks its output; exit status 0 on success.
"""
import os
import socket
import subprocess
import sys
import time


def start_server(argv):
    """Starts a server printing 'listening on HOST:PORT' first; returns (process, port)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        sys.exit(f"{argv[0]}: unexpected first line {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def run(argv, env=None, timeout=60):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, **(env or {})))
    sys.stdout.write(out.stdout)
    sys.stderr.write(out.stderr)
    return out


def expect(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def dns_mass_resolve(example, dns_server):
    dns, port = start_server([dns_server])
    try:
        out = run([example, "--count", "1000", "--pool", "50", "--server", f"127.0.0.1:{port}"],
                  env={"GROVE_RESOLVER": "ares"})
        expect(out.returncode == 0, "exit status 0")
        expect("host1.grove.test = 10.0.0.1:80" in out.stdout, "host1's address")
        expect(": 1000 resolved, 0 failed" in out.stdout, "1000 resolved")
    finally:
        dns.terminate()
        dns.wait()


def concurrent_download(example, http_server):
    http, port = start_server([http_server, "--port", "0"])
    try:
        urls = [f"http://127.0.0.1:{port}/file/{i}" for i in range(20)]
        out = run([example] + urls)
        expect(out.returncode == 0, "exit status 0")
        expect("20 of 20 downloads, 280 bytes" in out.stdout, "20 downloads of 'Hello, World!\\n'")
    finally:
        http.terminate()
        http.wait()


def recv_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode()


def chat_server(example):
    server, port = start_server([example, "--port", "0"])
    try:
        alice = socket.create_connection(("127.0.0.1", port), timeout=10)
        bob = socket.create_connection(("127.0.0.1", port), timeout=10)
        expect(recv_line(alice).endswith(": joined\n"), "alice hears bob join")
        bob_name = bob.getsockname()
        alice.sendall(b"hello everyone\nsecond line\n")
        first, second = recv_line(bob), recv_line(bob)
        expect(first.endswith(": hello everyone\n"), f"bob gets alice's line (got {first!r})")
        expect(second.endswith(": second line\n"), "lines arrive whole and in order")
        bob.sendall(b"hi alice\n")
        line = recv_line(alice)
        expect(line == f"{bob_name[0]}:{bob_name[1]}: hi alice\n", f"alice gets bob's line (got {line!r})")
        bob.close()
        expect(recv_line(alice).endswith(": left\n"), "alice hears bob leave")
        alice.close()
    finally:
        server.terminate()
        server.wait()


def http_streaming(example):
    server, port = start_server([example, "--port", "0"])
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        first = s.recv(65536).decode()
        expect("Transfer-Encoding: chunked" in first, "a chunked response")
        # While the stream runs, another request is served at once.
        other = socket.create_connection(("127.0.0.1", port), timeout=10)
        other.sendall(b"GET /other HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := other.recv(65536):
            reply += chunk
        expect(b"hello from /other" in reply, "another request served during the stream")
        body = first
        while chunk := s.recv(65536):
            body += chunk.decode()
        for i in range(5):
            expect(f"tick {i}\n" in body, f"tick {i}")
        expect(body.endswith("0\r\n\r\n"), "the chunked body ends")
    finally:
        server.terminate()
        server.wait()


def legacy_jobs(example, grove_run):
    plain = run([example])
    expect(plain.stdout.startswith("job 0 done\njob 1 done\njob 2 done\n"), "sequential on its own")
    # In an ASan build the preloaded hooks come before libasan: allowed, as the
    # hooks are built with the same sanitizer.
    asan = os.environ.get("ASAN_OPTIONS", "")
    hooked = run([grove_run, example], env={"ASAN_OPTIONS": asan + ":verify_asan_link_order=0"})
    expect(hooked.stdout.startswith("job 2 done\njob 1 done\njob 0 done\n"),
           "concurrent under grove-run: the shortest job finishes first")


if __name__ == "__main__":
    name, args = sys.argv[1], sys.argv[2:]
    globals()[name](*args)
    print(f"{name}: ok")
