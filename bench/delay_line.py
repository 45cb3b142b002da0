#!/usr/bin/env python3
"""A shaped line in user space: a TCP forwarder that delays and paces each direction.

    delay_line.py --listen 127.0.0.1:P --to 127.0.0.1:Q --delay-ms 25 --rate-mbit 100 --stats FILE

Every connection accepted on --listen gets its own connection to --to. Each direction is modelled
as a link of --rate-mbit followed by a propagation delay of --delay-ms (so the round trip is twice
the delay): a chunk read at time t starts to "transmit" when the link is free (not before t), takes
len*8/rate seconds, and is written to the other side delay-ms after its transmission ended. Each
direction of each connection has one FIFO and one writer, so bytes keep their order; the line
holds at most a bandwidth-delay product plus --queue-ms of data per direction and stops reading
beyond that (TCP back-pressure to the sender, as a full router queue would give, without loss).
The rate is the line's, shared by all connections in that direction (as one physical line would).

When either side closes (EOF or error), what that direction already holds is delivered, then both
connections are closed. Bytes forwarded (written to the far side) in each direction are written as
JSON to --stats every second and at exit (SIGTERM/SIGINT):
    {"upBytes": client->target, "downBytes": target->client, "connections": n, "active": m, ...}
Python 3 standard library only.
"""
import argparse
import asyncio
import collections
import json
import os
import signal
import socket
import sys
import time


def host_port(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


class Stats:
    def __init__(self, path, listen, to, delay_ms, rate_mbit):
        self.path = path
        self.up = 0
        self.down = 0
        self.connections = 0
        self.active = 0
        self.started = time.time()
        self.meta = {"listen": "%s:%d" % listen, "to": "%s:%d" % to,
                     "delayMs": delay_ms, "rateMbit": rate_mbit}

    def write(self):
        if not self.path:
            return
        doc = dict(self.meta, upBytes=self.up, downBytes=self.down, connections=self.connections,
                   active=self.active, seconds=round(time.time() - self.started, 3),
                   at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f)
            f.write("\n")
        os.replace(tmp, self.path)


class Link:
    """One direction of the line: the time its last queued byte finishes transmitting."""

    def __init__(self):
        self.free = 0.0


class Direction:
    """One direction of one connection: a paced, delayed FIFO between a reader and a writer."""

    def __init__(self, name, reader, writer, link, delay_s, rate_bps, limit, count):
        self.name = name
        self.reader = reader
        self.writer = writer
        self.delay_s = delay_s
        self.rate_bps = rate_bps
        self.limit = limit
        self.count = count          # callable(n): bytes forwarded
        self.queue = collections.deque()   # (deliver_at, bytes) ; bytes None = end of stream
        self.queued = 0
        self.link = link            # Link: when the line (shared by all connections) is free
        self.has_data = asyncio.Event()   # set when something is queued
        self.has_room = asyncio.Event()   # set when something is dequeued

    async def pump_in(self, loop):
        try:
            while True:
                while self.queued >= self.limit:
                    self.has_room.clear()
                    await self.has_room.wait()
                data = await self.reader.read(65536)
                if not data:
                    break
                now = loop.time()
                start = max(now, self.link.free)
                self.link.free = start + len(data) * 8.0 / self.rate_bps if self.rate_bps else start
                self.queue.append((self.link.free + self.delay_s, data))
                self.queued += len(data)
                self.has_data.set()
        except (ConnectionError, OSError):
            pass
        # End of stream (EOF or error): deliver what was sent before it, after its delay.
        self.queue.append((max(loop.time(), self.link.free) + self.delay_s, None))
        self.has_data.set()

    async def pump_out(self, loop):
        """Returns when the end of stream was delivered or the far side failed."""
        while True:
            while not self.queue:
                self.has_data.clear()
                await self.has_data.wait()
            deliver_at, data = self.queue[0]
            wait = deliver_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.queue.popleft()
            if data is None:
                return
            self.queued -= len(data)
            self.has_room.set()
            try:
                self.writer.write(data)
                await self.writer.drain()
            except (ConnectionError, OSError):
                return
            self.count(len(data))


def close(writer):
    try:
        writer.close()
    except Exception:
        pass


async def serve(args, stats):
    loop = asyncio.get_running_loop()
    delay_s = args.delay_ms / 1000.0
    rate_bps = args.rate_mbit * 1e6
    # Per direction: the bandwidth-delay product plus a queue of --queue-ms at the line's rate.
    limit = max(65536, int(rate_bps / 8 * (delay_s + args.queue_ms / 1000.0))) if rate_bps else 1 << 30

    up_link, down_link = Link(), Link()

    async def handle(c_reader, c_writer):
        stats.connections += 1
        stats.active += 1
        try:
            try:
                t_reader, t_writer = await asyncio.open_connection(*args.to)
            except OSError as e:
                print(f"delay_line: connect {args.to[0]}:{args.to[1]}: {e}", file=sys.stderr)
                close(c_writer)
                return
            for w in (c_writer, t_writer):
                sock = w.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def add_up(n):
                stats.up += n

            def add_down(n):
                stats.down += n

            up = Direction("up", c_reader, t_writer, up_link, delay_s, rate_bps, limit, add_up)
            down = Direction("down", t_reader, c_writer, down_link, delay_s, rate_bps, limit, add_down)
            tasks = [asyncio.create_task(up.pump_in(loop)), asyncio.create_task(down.pump_in(loop))]
            outs = [asyncio.create_task(up.pump_out(loop)), asyncio.create_task(down.pump_out(loop))]
            try:
                # The first direction to end (its data delivered) ends the connection: both close.
                await asyncio.wait(outs, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                pass  # the line stops (SIGTERM): close both ends
            for t in tasks + outs:
                t.cancel()
            await asyncio.gather(*tasks, *outs, return_exceptions=True)
            close(t_writer)
            close(c_writer)
        finally:
            stats.active -= 1

    server = await asyncio.start_server(handle, args.listen[0], args.listen[1], reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def stats_loop():
        while True:
            stats.write()
            await asyncio.sleep(1.0)

    ticker = asyncio.create_task(stats_loop())
    await stop.wait()
    ticker.cancel()
    server.close()
    stats.write()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=host_port, required=True)
    p.add_argument("--to", type=host_port, required=True)
    p.add_argument("--delay-ms", type=float, default=25.0, help="one-way delay (RTT is twice this)")
    p.add_argument("--rate-mbit", type=float, default=100.0, help="rate per direction; 0 = unpaced")
    p.add_argument("--queue-ms", type=float, default=100.0,
                   help="queue beyond the bandwidth-delay product, in ms at the rate (default 100)")
    p.add_argument("--stats", help="JSON file with the bytes forwarded, rewritten every second")
    args = p.parse_args()
    stats = Stats(args.stats, args.listen, args.to, args.delay_ms, args.rate_mbit)
    try:
        asyncio.run(serve(args, stats))
    finally:
        stats.write()


if __name__ == "__main__":
    main()
