"""``python -m simulator --port PORT``: run the simulator without Django."""

import argparse

from simulator.server import serve

parser = argparse.ArgumentParser(description="OpenRouter simulator")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8090)
args = parser.parse_args()
serve(host=args.host, port=args.port)
