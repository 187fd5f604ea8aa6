"""The shaped test bed: AWS emulators behind a proxy that imposes a CI runner's links.

A CI runner talks to each AWS region over a path with that region's round-trip time, and all
its uploads share one uplink (its downloads one downlink). On loopback every request is free
and the emulator's CPU decides the time; this bed puts the network back:

- one TCP listener per region, each forwarding to that region's emulator (moto);
- a *router* listener for clients that have one endpoint for every region (Startifact, via
  AWS_ENDPOINT_URL): it reads the region from the first request's SigV4 credential scope
  (`Authorization: ... Credential=KEY/DATE/REGION/SERVICE/aws4_request`, or the presigned
  `X-Amz-Credential`) and treats the connection as that region's. Clients that pool one
  connection across regions (one HTTP client for every region behind one endpoint) must use
  the per-region listeners instead; a request whose scope names another region than its
  connection's is counted as `misrouted` in the log;
- latency as a delay line in each direction: every byte reaches the other end RTT/2 after it
  was sent, so every request/response exchange pays one RTT (and an `Expect: 100-continue`
  handshake one more), on new and on reused connections alike. A new connection's first
  bytes leave only `setup_rtts` RTTs after the connect (the TCP handshake; TLS 1.3 would add
  one more, `--setup-rtts 2`);
- bandwidth as serialisers (token buckets without burst): the upload direction passes the
  region's upload cap and the *shared* uplink, which every connection of every region uses;
  the download direction likewise passes the region's download cap and the shared downlink.
  Both directions are capped, separately. A connection has one chunk (at most 128 KiB) waiting
  for the link at a time, so concurrent connections share a link about equally;
- a server-side copy (`x-amz-copy-source`) is answered no earlier than `copy_rate` allows for
  the bytes copied (plus one inter-region round trip), because S3 copies between regions at a
  finite rate while an emulator copies in memory. The copied size is read from the copy range
  or by a HEAD of the source object on the upstream emulator.

Every request is logged as a JSON line (wall-clock times, region, connection, operation,
bytes, status), so a run's round trips per region and its critical path can be counted.

Usage:
  shaped_bed.py serve --profile ci --upstream eu-west-1=http://127.0.0.1:5001 ... [--log FILE]
      prints {"regions": {REGION: PORT}, "router": PORT} on one line once listening, then
      serves until SIGTERM/SIGINT.
  shaped_bed.py profiles       the profiles as JSON.
  shaped_bed.py summary LOG [--since T] [--until T]
      requests, connections and round trips per region and operation from a log.
  shaped_bed.py timeline LOG [--since T] [--until T]
      one line per connection and request, in time order.

Python standard library only; scripts/bench-shaped drives it, tests/shaped_bed.rs checks that
it imposes what it is configured to impose.
"""

import argparse
import asyncio
import collections
import json
import os
import re
import signal
import sys
import time
import urllib.parse

MB = 1_000_000
CHUNK = 128 * 1024
# Chunks queued in one direction of one connection before the reader waits (backpressure).
QUEUE_CHUNKS = 4096

# Round-trip times (ms) from a runner in eu-west-1. The profiles name three regions;
# the others are for the 8-region apply benchmark.
CI_RTT_MS = {
    "eu-west-1": 5,
    "eu-central-1": 20,
    "eu-north-1": 35,
    "us-east-1": 80,
    "us-west-2": 140,
    "sa-east-1": 190,
    "ap-northeast-1": 220,
    "ap-southeast-2": 250,
}

# rtt_ms: per region ("*" for any other). up/down: the shared uplink and downlink (bytes/s).
# region_up/region_down: each region's own path cap (None: only the shared link limits).
# copy_rate: server-side copy rate between regions (bytes/s), copy_rtt_ms: one inter-region
# round trip per copy request.
PROFILES = {
    "near": {
        "rtt_ms": {"*": 5},
        "up": 100 * MB,
        "down": 100 * MB,
        "region_up": 100 * MB,
        "region_down": 100 * MB,
        "setup_rtts": 1,
        "copy_rate": 100 * MB,
        "copy_rtt_ms": 100,
    },
    "ci": {
        "rtt_ms": dict(CI_RTT_MS, **{"*": 100}),
        "up": 50 * MB,
        "down": 50 * MB,
        "region_up": 50 * MB,
        "region_down": 50 * MB,
        "setup_rtts": 1,
        "copy_rate": 100 * MB,
        "copy_rtt_ms": 100,
    },
    "slow": {
        "rtt_ms": dict(CI_RTT_MS, **{"*": 100}),
        "up": 10 * MB,
        "down": 10 * MB,
        "region_up": 10 * MB,
        "region_down": 10 * MB,
        "setup_rtts": 1,
        "copy_rate": 100 * MB,
        "copy_rtt_ms": 100,
    },
}


def region_rtt(profile, region):
    """The round-trip time of `region` in seconds."""
    table = profile["rtt_ms"]
    return table.get(region, table.get("*", 0)) / 1000.0


class Link:
    """A serialiser: bytes pass at `rate` bytes/s, one reservation after another."""

    def __init__(self, rate):
        self.rate = rate
        self.free_at = 0.0


# A link that fell idle less than this long ago is taken as still busy: the proxy's own
# wake-up delay between two chunks of a transfer must not cost the link capacity. (The
# long-run rate stays exact; an idle link starts sending at once, never early.)
TOLERANCE = 0.005


def reserve(links, n, now):
    """Reserves `n` bytes on every link of a path at once; returns (start, end): when the
    bytes start onto the path and when the last of them has left the slowest link."""
    links = [link for link in links if link and link.rate]
    if not links:
        return now, now
    busy = max(link.free_at for link in links)
    start = busy if busy >= now - TOLERANCE else now
    for link in links:
        link.free_at = start + n / link.rate
    return start, start + n / min(link.rate for link in links)


class Clock:
    """Sleeps until a moment, on time on average: the event loop wakes about a millisecond
    late (its poll timeout is rounded up to whole milliseconds), which would add two
    milliseconds to every round trip; each sleep is shortened by the lateness seen so far."""

    def __init__(self):
        self.late = 0.001

    async def until(self, moment):
        loop = asyncio.get_running_loop()
        asked = moment - self.late
        wait = asked - loop.time()
        if wait <= 0:
            return
        await asyncio.sleep(wait)
        # A stall of the whole process is not the timer's lateness: it does not count.
        over = min(0.002, max(0.0, loop.time() - asked))
        self.late = 0.9 * self.late + 0.1 * over


CLOCK = Clock()


SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
QUERY_SCOPE = re.compile(
    r"X-Amz-Credential=[^&/%]+(?:%2F|/)\d{8}(?:%2F|/)([a-z0-9-]+)(?:%2F|/)([a-z0-9-]+)", re.I
)


def scope_of(head):
    """(region, service) from a request head's SigV4 credential scope, or (None, None)."""
    m = SCOPE.search(head) or QUERY_SCOPE.search(head)
    return (m.group(1), m.group(2)) if m else (None, None)


def s3_operation(method, target, headers):
    path, _, query = target.partition("?")
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    has_key = path.strip("/").count("/") >= 1
    copy = "x-amz-copy-source" in headers
    if method == "PUT":
        if "partNumber" in q:
            return "UploadPartCopy" if copy else "UploadPart"
        if not has_key:
            return "CreateBucket"
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload"
        if "uploadId" in q:
            return "CompleteMultipartUpload"
        return "PostObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "GET":
        if "uploadId" in q:
            return "ListParts"
        return "GetObject" if has_key else "ListObjects"
    return method


class Message:
    """Incremental HTTP/1.1 framing of one direction of a connection (observer only: the
    proxy forwards bytes whatever this makes of them)."""

    def __init__(self, is_request, on_head, on_end):
        self.is_request = is_request
        self.on_head = on_head
        self.on_end = on_end
        self.buf = b""
        self.state = "head"
        self.left = 0  # body bytes left (length framing) or in the current chunk
        self.broken = False
        self.body_prefix = b""
        self.capture = 0

    def feed(self, data, now, head_methods=None):
        if self.broken:
            return
        view = data
        while view:
            if self.state == "head":
                self.buf += view
                view = b""
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > 256 * 1024:
                        self.broken = True
                    return
                head = self.buf[:end].decode("latin-1")
                rest = self.buf[end + 4 :]
                self.buf = b""
                framing = self.on_head(head, now)
                if framing is None:
                    self.broken = True
                    return
                kind, n, capture = framing
                self.capture = capture
                self.body_prefix = b""
                if kind == "length":
                    self.state, self.left = "body", n
                    if n == 0:
                        self._end(now)
                elif kind == "chunked":
                    self.state = "chunk-size"
                elif kind == "none":
                    self._end(now)
                else:  # until close
                    self.state = "eof"
                view = rest
            elif self.state == "body":
                take = min(self.left, len(view))
                if self.capture:
                    self._capture(view[:take])
                self.left -= take
                view = view[take:] if take < len(view) else b""
                if self.left == 0:
                    self._end(now)
            elif self.state in ("chunk-size", "trailer"):
                self.buf += view
                view = b""
                while True:
                    eol = self.buf.find(b"\r\n")
                    if eol < 0:
                        break
                    line = self.buf[:eol]
                    self.buf = self.buf[eol + 2 :]
                    if self.state == "trailer":
                        if line == b"":
                            rest, self.buf = self.buf, b""
                            self._end(now)
                            view = rest
                            break
                        continue
                    try:
                        size = int(line.split(b";")[0].strip() or b"0", 16)
                    except ValueError:
                        self.broken = True
                        return
                    if size == 0:
                        self.state = "trailer"
                        continue
                    self.state, self.left = "chunk-data", size + 2
                    rest, self.buf = self.buf, b""
                    view = rest
                    break
            elif self.state == "chunk-data":
                take = min(self.left, len(view))
                if self.capture:
                    self._capture(view[: max(0, min(take, self.left - 2))])
                self.left -= take
                view = view[take:] if take < len(view) else b""
                if self.left == 0:
                    self.state = "chunk-size"
            else:  # eof: the body runs until the connection closes
                return

    def _capture(self, data):
        if self.capture and len(self.body_prefix) < self.capture:
            self.body_prefix += data[: self.capture - len(self.body_prefix)]

    def _end(self, now):
        self.state = "head"
        self.on_end(now, self.body_prefix)

    def close(self, now):
        if self.state == "eof":
            self._end(now)


def parse_head(head):
    lines = head.split("\r\n")
    first = lines[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return first, headers


class Bed:
    def __init__(self, profile, upstreams, log_path=None):
        self.profile = profile
        self.upstreams = upstreams  # region -> (host, port)
        self.up = Link(profile.get("up"))
        self.down = Link(profile.get("down"))
        self.region_links = {
            r: (Link(profile.get("region_up")), Link(profile.get("region_down"))) for r in upstreams
        }
        self.log = open(log_path, "a", buffering=1) if log_path else None
        # Connection numbers are unique across the beds that append to one log.
        self.conn_ids = (os.getpid() % 10000) * 100000
        self.servers = []
        self.ports = {}
        self.router_port = None

    def write_log(self, record):
        if self.log:
            self.log.write(json.dumps(record, separators=(",", ":")) + "\n")

    async def start(self, host="127.0.0.1"):
        for region in self.upstreams:
            server = await asyncio.start_server(
                lambda r, w, region=region: self.handle(r, w, region), host, 0
            )
            self.servers.append(server)
            self.ports[region] = server.sockets[0].getsockname()[1]
        server = await asyncio.start_server(lambda r, w: self.handle(r, w, None), host, 0)
        self.servers.append(server)
        self.router_port = server.sockets[0].getsockname()[1]

    async def handle(self, reader, writer, region):
        loop = asyncio.get_running_loop()
        accepted = loop.time()
        self.conn_ids += 1
        conn = self.conn_ids
        first = b""
        try:
            if region is None:
                try:
                    first = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
                    first = getattr(e, "partial", b"")
                region = scope_of(first.decode("latin-1"))[0]
                if region not in self.upstreams:
                    region = next(iter(self.upstreams))
        except OSError:
            writer.close()
            return
        rtt = region_rtt(self.profile, region)
        self.write_log({"event": "connect", "t": time.time(), "region": region, "conn": conn})
        c = Connection(self, conn, region, rtt, accepted)
        try:
            await c.run(reader, writer, first)
        except asyncio.CancelledError:
            # The bed is stopping. Ending the handler here, instead of letting the
            # cancellation out, keeps Python 3.11's start_server callback from reporting
            # every open connection as an error (its `task.exception()` raises on a
            # cancelled task).
            writer.close()


class Connection:
    """One client connection: two delayed, rate-limited pumps and the request log."""

    def __init__(self, bed, conn, region, rtt, accepted):
        self.bed = bed
        self.conn = conn
        self.region = region
        self.rtt = rtt
        self.ready_at = accepted + bed.profile.get("setup_rtts", 1) * rtt
        self.pending = collections.deque()  # requests awaiting their response
        self.requests = Message(True, self.request_head, self.request_end)
        self.responses = Message(False, self.response_head, self.response_end)
        self.current = None
        self.client_wants_close = False

    # -- observers -------------------------------------------------------------------------
    def request_head(self, head, now):
        first, headers = parse_head(head)
        parts = first.split(" ")
        if len(parts) < 2:
            return None
        method, target = parts[0], parts[1]
        scope_region, service = scope_of(head)
        if headers.get("x-amz-target"):
            op = headers["x-amz-target"].rsplit(".", 1)[-1]
        elif service == "s3" or service is None:
            op = s3_operation(method, target, headers)
        else:
            op = None  # query protocol: the Action is in the body
        rec = {
            "t": time.time(),
            "region": self.region,
            "conn": self.conn,
            "service": service,
            "method": method,
            "op": op,
            "target": target[:200],
            "req_bytes": 0,
            "_mono": now,
        }
        if scope_region and scope_region != self.region:
            rec["misrouted"] = scope_region
        if "x-amz-copy-source" in headers:
            rec["copy_source"] = headers["x-amz-copy-source"]
            rec["copy_range"] = headers.get("x-amz-copy-source-range")
        self.current = rec
        self.client_wants_close = headers.get("connection", "").lower() == "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return ("chunked", 0, 512 if op is None else 0)
        n = int(headers.get("content-length", "0") or 0)
        rec["req_bytes"] = n
        return ("length", n, 512 if op is None else 0)

    def request_end(self, now, body_prefix):
        rec = self.current
        if rec is None:
            return
        if rec["op"] is None:
            form = urllib.parse.parse_qs(body_prefix.decode("latin-1"))
            rec["op"] = form.get("Action", ["?"])[0]
        rec["t_sent"] = time.time()
        self.pending.append(rec)
        self.current = None
        if "copy_source" in rec:
            rec["_hold"] = asyncio.ensure_future(self.copy_hold(rec, now))

    def response_head(self, head, now):
        first, headers = parse_head(head)
        parts = first.split(" ")
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 100 <= status < 200:
            if self.current is not None:
                self.current["continue"] = True
            return ("none", 0, 0)
        rec = self.pending[0] if self.pending else {}
        rec["status"] = status
        rec["t_response"] = time.time()
        if rec.get("method") == "HEAD" or status in (204, 304):
            return ("none", 0, 0)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return ("chunked", 0, 0)
        if "content-length" in headers:
            n = int(headers["content-length"] or 0)
            rec["resp_bytes"] = n
            return ("length", n, 0)
        return ("eof", 0, 0)

    def response_end(self, now, _prefix):
        if not self.pending:
            return
        rec = self.pending[0]
        if "status" not in rec:  # an interim (1xx) response
            return
        self.pending.popleft()
        rec["t_done"] = time.time()
        rec["elapsed_ms"] = round((now - rec.pop("_mono")) * 1000, 1)
        rec.pop("_hold", None)
        self.bed.write_log(rec)

    async def copy_hold(self, rec, sent):
        """When the copy's response may reach the client at the earliest: the bytes copied
        between regions at `copy_rate`, plus an inter-region round trip."""
        size = None
        rng = rec.get("copy_range")
        if rng:
            m = re.match(r"bytes=(\d+)-(\d+)", rng)
            if m:
                size = int(m.group(2)) - int(m.group(1)) + 1
        if size is None:
            size = await self.source_size(rec["copy_source"])
        rate = self.bed.profile.get("copy_rate")
        extra = self.bed.profile.get("copy_rtt_ms", 0) / 1000.0
        if rate and size:
            extra += size / rate
        rec["copy_bytes"] = size
        return sent + self.rtt + extra

    async def source_size(self, source):
        path = "/" + source.lstrip("/").split("?", 1)[0]
        host, port = self.bed.upstreams[self.region]
        try:
            r, w = await asyncio.open_connection(host, port)
            w.write(f"HEAD {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            await w.drain()
            head = (await r.readuntil(b"\r\n\r\n")).decode("latin-1")
            w.close()
            _, headers = parse_head(head)
            return int(headers.get("content-length", "0") or 0)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            return None

    # -- data path -------------------------------------------------------------------------
    async def run(self, client_reader, client_writer, first):
        """Client bytes go to the emulator through the uplink; its answers come back through
        the downlink. The emulator (moto's development server) closes its connection after
        every response, which no AWS endpoint does: the bed keeps the client's connection
        open (the answer says `Connection: keep-alive` when its length is known) and opens a
        new loopback connection to the emulator for the next request. So a client that
        reuses connections pays the set-up once, and one that does not pays it every time."""
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.client_writer = client_writer
        self.to_client = asyncio.Queue(QUEUE_CHUNKS)
        self.up_writer = None
        self.up_tasks = []
        self.up_closes = False  # the emulator said it closes after the current answer
        self.awaiting_head = False
        self.close_client = False
        self.down_last = 0.0
        delivering = asyncio.ensure_future(self.deliver_to_client())
        try:
            await self.client_to_upstream(client_reader, first)
        finally:
            for task in self.up_tasks:
                try:
                    await task
                except (ConnectionError, OSError):
                    pass
            await self.to_client.put(None)
            try:
                await delivering
            except (ConnectionError, OSError):
                pass
            client_writer.close()

    async def open_upstream(self):
        host, port = self.bed.upstreams[self.region]
        reader, writer = await asyncio.open_connection(host, port)
        self.up_writer = writer
        self.up_closes = False
        self.up_tasks.append(asyncio.ensure_future(self.upstream_to_client(reader, writer)))

    async def client_to_upstream(self, src, first):
        loop = self.loop
        queue = asyncio.Queue(QUEUE_CHUNKS)
        one_way = self.rtt / 2
        links = (self.bed.region_links[self.region][0], self.bed.up)

        async def deliver():
            while True:
                item = await queue.get()
                if item is None:
                    break
                at, data, starts_request = item
                await CLOCK.until(at)
                if starts_request:
                    # The client has the whole previous answer (no client pipelines).
                    if self.up_writer is None or self.up_writer.is_closing() or self.up_closes:
                        if self.up_writer is not None:
                            self.up_writer.close()
                        await self.open_upstream()
                    self.awaiting_head = True
                if self.up_writer is None or self.up_writer.is_closing():
                    continue
                self.up_writer.write(data)
                await self.up_writer.drain()
            if self.up_writer is not None and not self.up_writer.is_closing():
                try:
                    self.up_writer.write_eof()
                except OSError:
                    pass

        sender = asyncio.ensure_future(deliver())
        last = 0.0
        try:
            data = first
            while True:
                if not data:
                    data = await src.read(CHUNK)
                    if not data:
                        break
                now = loop.time()
                if now < self.ready_at:
                    await CLOCK.until(self.ready_at)
                    now = max(loop.time(), self.ready_at)
                starts_request = self.requests.state == "head" and not self.requests.buf
                self.requests.feed(data, now)
                start, end = reserve(links, len(data), now)
                if start > now:
                    await CLOCK.until(start)
                at = max(end + one_way, last)
                last = at
                await queue.put((at, data, starts_request))
                data = b""
        except (ConnectionError, OSError):
            pass
        finally:
            self.requests.close(loop.time())
            await queue.put(None)
            try:
                await sender
            except (ConnectionError, OSError):
                pass

    def keep_alive(self, data):
        """Rewrites an answer's head so that the client keeps its connection, where the
        answer's length is known without the close."""
        end = data.find(b"\r\n\r\n")
        if end < 0:
            self.awaiting_head = False
            self.close_client = True
            return data
        first, headers = parse_head(data[:end].decode("latin-1"))
        parts = first.split(" ")
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 100 <= status < 200:
            return data  # an interim answer; the final one follows
        self.awaiting_head = False
        self.up_closes = headers.get("connection", "").lower() == "close"
        method = self.pending[0].get("method") if self.pending else None
        framed = (
            "content-length" in headers
            or "chunked" in headers.get("transfer-encoding", "").lower()
            or status in (204, 304)
            or method == "HEAD"
        )
        if not framed or self.client_wants_close:
            self.close_client = self.close_client or not framed
            return data
        lines = [line for line in data[:end].split(b"\r\n") if not line.lower().startswith(b"connection:")]
        lines.append(b"Connection: keep-alive")
        return b"\r\n".join(lines) + data[end:]

    async def upstream_to_client(self, src, writer):
        loop = self.loop
        one_way = self.rtt / 2
        links = (self.bed.region_links[self.region][1], self.bed.down)
        try:
            while True:
                data = await src.read(CHUNK)
                if not data:
                    break
                if self.awaiting_head:
                    data = self.keep_alive(data)
                now = loop.time()
                start, end = reserve(links, len(data), now)
                if start > now:
                    await CLOCK.until(start)
                at = max(end + one_way, self.down_last)
                if self.pending and "_hold" in self.pending[0]:
                    # A server-side copy: its (successful) answer waits for the copy.
                    hold = await self.pending[0]["_hold"]
                    if data.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                        at = max(at, hold)
                self.down_last = at
                await self.to_client.put((at, data))
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            if self.close_client:
                await self.to_client.put((self.down_last, None))

    async def deliver_to_client(self):
        dst = self.client_writer
        while True:
            item = await self.to_client.get()
            if item is None:
                break
            at, data = item
            await CLOCK.until(at)
            if data is None:  # the emulator's close ends an answer of unknown length
                self.responses.close(self.loop.time())
                break
            self.responses.feed(data, self.loop.time())
            dst.write(data)
            await dst.drain()
        self.responses.close(self.loop.time())
        dst.close()


def raise_priority():
    """The bed is the network: it must not wait behind the processes it carries (on a small
    machine, the emulators and the client under test). Where allowed (root), it runs at
    nice -10; elsewhere at the priority it was given."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    except OSError:
        pass


async def serve(args):
    raise_priority()
    profile = json.loads(json.dumps(PROFILES[args.profile]))
    for spec in args.rtt or []:
        region, ms = spec.split("=")
        profile["rtt_ms"][region] = float(ms)
    for name in ("up", "down", "region_up", "region_down", "copy_rate"):
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            profile[name] = value * MB if value > 0 else None
    if args.setup_rtts is not None:
        profile["setup_rtts"] = args.setup_rtts
    upstreams = {}
    for spec in args.upstream:
        region, url = spec.split("=", 1)
        u = urllib.parse.urlparse(url)
        upstreams[region] = (u.hostname, u.port)
    bed = Bed(profile, upstreams, args.log)
    await bed.start()
    print(json.dumps({"regions": bed.ports, "router": bed.router_port, "profile": profile}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in bed.servers:
        s.close()
    # Connections still open end with the bed (quietly: they were the client's to close).
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in others:
        t.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    if bed.log:
        bed.log.close()


def read_log(path, since=None, until=None):
    out = []
    with open(path) as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if since is not None and rec["t"] < since:
                continue
            if until is not None and rec["t"] > until:
                continue
            out.append(rec)
    return out


def summarize(records):
    """Per region: connections opened, requests per operation, bytes, and the number of
    sequential round trips (requests that did not overlap an earlier one on the timeline)."""
    regions = collections.OrderedDict()
    for rec in sorted(records, key=lambda r: r["t"]):
        s = regions.setdefault(
            rec["region"],
            {"connections": 0, "requests": 0, "ops": collections.Counter(), "up_bytes": 0,
             "down_bytes": 0, "sequential": 0, "_busy_until": 0.0, "misrouted": 0, "first": rec["t"],
             "last": rec["t"]},
        )
        if rec.get("event") == "connect":
            s["connections"] += 1
            continue
        s["requests"] += 1
        s["ops"][f"{rec.get('service') or '?'}:{rec['op']}"] += 1
        s["up_bytes"] += rec.get("req_bytes", 0)
        s["down_bytes"] += rec.get("resp_bytes", 0)
        s["misrouted"] += 1 if rec.get("misrouted") else 0
        start, done = rec["t"], rec.get("t_done", rec["t"])
        if start >= s["_busy_until"]:
            s["sequential"] += 1
        s["_busy_until"] = max(s["_busy_until"], done)
        s["last"] = max(s["last"], done)
    for s in regions.values():
        s.pop("_busy_until")
        s["ops"] = dict(s["ops"])
    return regions


def timeline(records, out=sys.stdout):
    """One line per connection and request, times relative to the first record."""
    records = sorted(records, key=lambda r: r["t"])
    if not records:
        return
    t0 = records[0]["t"]
    for r in records:
        at = r["t"] - t0
        if r.get("event") == "connect":
            out.write(f"{at:8.3f}  {r['region']:<15} c{r['conn']:<4} connect\n")
            continue
        done = r.get("t_done", r["t"]) - t0
        op = f"{r.get('service') or '?'}:{r['op']}"
        size = r.get("req_bytes", 0) or r.get("resp_bytes", 0)
        out.write(f"{at:8.3f}  {r['region']:<15} c{r['conn']:<4} {op:<32} {size:>10}  "
                  f"{r.get('status', '-')!s:>3}  done {done:7.3f}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the bed")
    s.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    s.add_argument("--upstream", action="append", required=True, metavar="REGION=URL")
    s.add_argument("--rtt", action="append", metavar="REGION=MS", help="override a round trip ('*' for any region)")
    s.add_argument("--up", type=float, help="shared uplink, MB/s (0: unlimited)")
    s.add_argument("--down", type=float, help="shared downlink, MB/s (0: unlimited)")
    s.add_argument("--region-up", type=float, help="each region's upload cap, MB/s (0: none)")
    s.add_argument("--region-down", type=float, help="each region's download cap, MB/s (0: none)")
    s.add_argument("--copy-rate", type=float, help="server-side copy rate between regions, MB/s (0: instant)")
    s.add_argument("--setup-rtts", type=float, help="round trips a new connection costs before its first byte")
    s.add_argument("--log", help="append a JSON line per request and per connection here")
    sub.add_parser("profiles", help="print the profiles")
    m = sub.add_parser("summary", help="summarise a log")
    m.add_argument("log")
    m.add_argument("--since", type=float)
    m.add_argument("--until", type=float)
    t = sub.add_parser("timeline", help="a log's requests, one line each")
    t.add_argument("log")
    t.add_argument("--since", type=float)
    t.add_argument("--until", type=float)
    args = ap.parse_args()
    if args.cmd == "serve":
        asyncio.run(serve(args))
    elif args.cmd == "profiles":
        print(json.dumps(PROFILES, indent=2))
    elif args.cmd == "timeline":
        timeline(read_log(args.log, args.since, args.until))
    else:
        json.dump(summarize(read_log(args.log, args.since, args.until)), sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
