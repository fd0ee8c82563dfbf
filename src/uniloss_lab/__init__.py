"""uniloss_lab: the lab beside the library: data, models, one training loop, peers, benchmarks, reports, the CLI.

It imports the library's public API; the library never imports it.

Install it with ``pip install "uniloss[lab]"``.
"""
