"""What this CPU offers int8 arithmetic: the flags that decide how fast (and, without
``reduce_range``, how exactly) onnxruntime's u8s8 kernels run.

With VNNI (AVX-512 VNNI or AVX-VNNI) onnxruntime multiplies int8 with exact 32-bit
accumulation in one instruction. On AVX2 alone it uses VPMADDUBSW, whose 16-bit
intermediate sums saturate unless the weights are 7-bit (``reduce_range``), and which
takes more instructions: int8 is then both less exact and less of a speed-up.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def cpu_flags() -> dict[str, bool]:
    """Which int8 instruction sets this CPU has (Linux /proc/cpuinfo; all False elsewhere)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    return {
        "avx2": "avx2" in flags,
        "avx512_vnni": "avx512_vnni" in flags,
        "avx_vnni": "avx_vnni" in flags,
    }


def has_vnni() -> bool:
    """True when int8 dot products are one instruction (AVX-512 VNNI or AVX-VNNI)."""
    flags = cpu_flags()
    return flags["avx512_vnni"] or flags["avx_vnni"]
