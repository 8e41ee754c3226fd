"""The ceiling: a plain `websockets` server that broadcasts each message to its room.

No Django, no channel layer, no database, one process: what Python itself can do here.
Run it with ``python -m benchmarks.raw_server PORT``.
"""

import asyncio
import json
import sys
from collections import defaultdict

from websockets.asyncio.server import broadcast, serve

rooms: dict[str, set] = defaultdict(set)


async def chat(websocket) -> None:
    room = rooms[websocket.request.path]
    room.add(websocket)
    try:
        async for text in websocket:
            message = json.loads(text)["message"]
            broadcast(room, json.dumps({"message": message}))
    finally:
        room.discard(websocket)


async def main(port: int) -> None:
    async with serve(chat, "127.0.0.1", port, compression=None, ping_interval=None) as server:
        print(f"Listening on 127.0.0.1:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
