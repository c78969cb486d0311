"""Target side of bench/portscan/run.sh: accept-and-close listeners, both families.

listeners.py READY_FILE SECONDS SPEC...   SPEC is PORT (every address of the namespace, IPv4
and IPv6) or ADDRESS#PORT (that address only). Accepted connections are closed at once so
no accept queue fills up; the process exits after SECONDS whatever happens.
"""
import selectors
import socket
import sys
import time

ready_file, lifetime, specs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
sel = selectors.DefaultSelector()
for spec in specs:
    if "#" in spec:
        address, port = spec.rsplit("#", 1)
        binds = [(socket.AF_INET6 if ":" in address else socket.AF_INET, address)]
    else:
        address, port = None, spec
        binds = [(socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")]
    for family, host in binds:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, int(port)))
        s.listen(1024)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
with open(ready_file, "w") as f:
    f.write("ready\n")
deadline = time.monotonic() + lifetime
while time.monotonic() < deadline:
    for key, _ in sel.select(timeout=0.5):
        for _ in range(256):  # drain, bounded
            try:
                conn, _ = key.fileobj.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            conn.close()
