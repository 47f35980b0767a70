"""What development, the tests and the benchmarks run, and production never does.

- ``devtools.localpars``: a PARS web service on 127.0.0.1 (the contract, its
  rejections, injectable faults), for tests, benchmarks and ``make run``;
- ``devtools.oidc``: the local OpenID Connect provider with the demo accounts;
- ``devtools.devserver``: ``make run``, the site plus those two services;
- ``devtools.database``: throw-away databases and test applications, shared by
  the tests and the benchmarks.

Nothing in ``webapp/`` imports this package (``tests/test_layout.py`` checks it),
and it is not part of the installed distribution (``pyproject.toml`` packages
``webapp`` only): it is never deployed. It is used from the checkout, with the
repository root as the working directory (``python -m devtools.devserver``,
``python -m pytest``, ``python -m benchmarks.<name>``).
"""
