"""The CPU settings that make outputs the same bits on every x86-64 machine with AVX2.

PyTorch, MKL, oneDNN, OpenBLAS and NumPy choose their kernels at run time from the CPU
they find (AVX-512 on one machine, AVX2 on the next, vendor-specific paths in MKL), and
their reductions split work by thread count; either changes the rounding of a sum, and a
trained model amplifies a last-bit difference into another model. These variables pin
each library to one code path and the thread count to one value. They are read when the
libraries load, so `apply()` runs before NumPy or torch is imported (pipelines/_stage.py).

What each one costs on this project's machine: `python benchmarks/cpu_pins.py`
(reports/bench/cpu_pins.json). A variable already set in the environment wins (e.g. to
measure without a pin); the run's identity tags record the values in force.

No imports here: this module must stay importable before anything heavy.
"""

THREADS = "2"  # one thread count everywhere: the split of a reduction changes its rounding

PINS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",     # PyTorch's vectorized kernels: the AVX2 build, not AVX-512
    "ONEDNN_MAX_CPU_ISA": "AVX2",      # oneDNN (convolutions): no AVX-512 JIT kernels
    # MKL (torch's fp32 matmul): Intel's AVX2 branch in strict CNR mode on every Intel CPU;
    # on AMD, MKL takes its AUTO branch (still with fixed cache sizes and reduction order).
    # The branch Intel and AMD share is COMPATIBLE (SSE2), 3.8x slower on this project's
    # sgemm (reports/bench/cpu_pins.json): opt in with REPROZOO_CPU_STRICT=1.
    "MKL_CBWR": "AVX2,STRICT",
    "OPENBLAS_CORETYPE": "Haswell",    # OpenBLAS (NumPy, SciPy): one kernel set on any AVX2 CPU
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # NumPy's own SIMD loops
    "OMP_NUM_THREADS": THREADS,
    "MKL_NUM_THREADS": THREADS,
    "OPENBLAS_NUM_THREADS": THREADS,
}


def apply(environ: dict | None = None) -> dict[str, str]:
    """Set every pin not already set; returns the values in force."""
    import os

    env = os.environ if environ is None else environ
    if env.get("REPROZOO_CPU_STRICT") == "1":
        env.setdefault("MKL_CBWR", "COMPATIBLE,STRICT")
    for key, value in PINS.items():
        env.setdefault(key, value)
    return {key: env[key] for key in PINS}
