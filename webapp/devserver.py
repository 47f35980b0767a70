"""``make run``: the site on the embedded defaults, for development only."""

from __future__ import annotations

import argparse

from webapp import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the portal for development")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app = create_app()
    if app.config["APP_ENV"] == "production":
        raise SystemExit("the development server does not run with APP_ENV=production")
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
