"""The payloads of Autobahn cases 12.x.1/12.x.2 and 13.x.1/13.x.2 (text test
data, compressed), which kosoku cannot run (its own Python hashes a str).
Here the independent `websockets` client sends them, with permessage-deflate,
through our server stack (`wsecho server`) and checks every echo."""
import asyncio
import os
import pathlib
import socket
import subprocess
import time

import kosoku
import pytest
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

WSECHO = os.environ.get("HACKSYNC_TEST_WSECHO")
TESTDATA = pathlib.Path(kosoku.__file__).parent / "shim" / "autobahntestsuite" / "testdata"
SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072]
OFFERS = {
    "12.x (default offer)": ClientPerMessageDeflateFactory(),
    "13.x (client no context takeover, windows 9)": ClientPerMessageDeflateFactory(
        client_no_context_takeover=True, server_max_window_bits=9, client_max_window_bits=9),
    "13.x (server no context takeover)": ClientPerMessageDeflateFactory(server_no_context_takeover=True),
}


@pytest.fixture(scope="module")
def echo_server():
    if not WSECHO:
        pytest.fail("run through `make test` (HACKSYNC_TEST_WSECHO is missing)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([WSECHO, "server", f"127.0.0.1:{port}"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"ws://127.0.0.1:{port}/"
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize("name", ["data1.json", "data1.html"])
@pytest.mark.parametrize("offer", list(OFFERS))
def test_text_payloads_echo_through_permessage_deflate(echo_server, name, offer):
    text = (TESTDATA / name).read_bytes().decode("utf-8")

    async def scenario():
        async with websockets.connect(echo_server, extensions=[OFFERS[offer]], compression=None,
                                      max_size=2**24) as ws:
            assert ws.response.headers.get("Sec-WebSocket-Extensions", "").startswith("permessage-deflate")
            for size in SIZES:
                payload = (text * (size // len(text) + 1))[:size]
                for _ in range(20):
                    await ws.send(payload)
                    assert await ws.recv() == payload
    asyncio.run(scenario())
