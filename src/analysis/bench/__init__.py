"""Benchmarks at corpus scale: synthetic corpora (:mod:`.corpus`) and the runner (:mod:`.run`).

``python -m analysis.bench`` runs the benchmark; ``python -m analysis.bench.corpus N`` only
writes a synthetic corpus of N meetings under ``.bench/``.
"""
