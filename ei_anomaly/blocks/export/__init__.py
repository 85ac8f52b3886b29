"""A deployment export (C++ or Arduino library, or a firmware folder holding one) as a block's files.

archive   the export's files from a `.zip` or a folder, read as untrusted input (bounded, no paths
          escaping the archive, no zip bombs)
cheader   just enough C: `#define`s, array and struct initializers, literals as the compiler's float32
reader    the anomaly block: its kind from the files, K-means arrays in every header layout, a GMM
          graph, the threshold, the DSP blocks and their data normalization -> `BlockFiles`
eon       an EON-compiled graph rebuilt as a TFLite flatbuffer
gmm_graph a GMM block's mixture read back from its graph
"""

from __future__ import annotations

from .archive import ExportTree, looks_like_export, read_export_tree
from .reader import AnomalyEntry, files_from_tree, list_anomaly_blocks, read_export

__all__ = [
    "AnomalyEntry",
    "ExportTree",
    "files_from_tree",
    "list_anomaly_blocks",
    "looks_like_export",
    "read_export",
    "read_export_tree",
]
