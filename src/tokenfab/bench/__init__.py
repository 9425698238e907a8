"""The measurement harness: benchmark a live OpenAI-compatible server and turn the results into economics.

Modules: :mod:`client` (asyncio streaming client and load generator), :mod:`metrics` (TTFT, TPOT, ITL, E2EL,
throughput, goodput: pure functions), :mod:`prompts` (synthetic prompts of a target token length), :mod:`records`
(JSONL per request, resume), :mod:`energy` (NVML energy per token), :mod:`mockserver` (a local OpenAI-compatible
mock with fault injection), :mod:`report` (results -> $/M tokens and tokens/s per MW). CLI: ``tokenfab bench`` and
``tokenfab bench-report``; guide: docs/bench.md.
"""
