"""The local Edge Impulse-compatible API: the demo project served as Studio serves a project.

stub                the state and the answers (`EdgeImpulseStub.reply`), fault modes included
demo_gmm            the demo's GMM block and the model-file downloads
demo_model_testing  the demo's model-testing results (`classify/all/result`)
server              the answers over HTTP on 127.0.0.1 (`LocalServer`; `python -m ei_anomaly serve`)
transport           the answers in memory (`StubTransport`), for the API client in tests

It sits above the client and the blocks (it imports their constants and loaders); nothing below
imports it.
"""

from __future__ import annotations

from .server import LocalServer, serve
from .stub import Answer, EdgeImpulseStub, FaultPlan
from .transport import StubTransport

__all__ = ["Answer", "EdgeImpulseStub", "FaultPlan", "LocalServer", "StubTransport", "serve"]
