"""``make run``: the site for development, with local stand-ins for what is not set.

When ``OIDC_ISSUER`` is not configured, a local OpenID Connect provider with the
demo physicians and a staff member starts on 127.0.0.1 (see
``devtools.oidc``) and the site is pointed at it. When ``MAIL_SERVER`` is not configured, a
local mail sink starts on 127.0.0.1 (``devtools.mailsink``) and keeps every message
``make notify`` sends in ``instance/mail/*.eml``. When ``PARS_API_URL`` is not
configured, a local PARS web service starts on 127.0.0.1 (``devtools.localpars``,
answering like a live one would), so that ``make transmit`` and ``make sync`` work
on the demo data. Everything runs in this one process, so Ctrl-C stops all of it.
Refuses to run in production.

    python -m devtools.devserver --port 5000 --oidc-port 8800 --pars-port 8765 --mail-port 8025
"""

from __future__ import annotations

import argparse
import os
from contextlib import ExitStack

from devtools import oidc
from devtools.localpars import FakePars
from devtools.mailsink import DEFAULT_PORT as LOCAL_MAIL_PORT
from devtools.mailsink import MailSink
from webapp import create_app
from webapp.config import INSTANCE

LOCAL_PARS_PORT = 8765


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the portal for development")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--oidc-port", type=int, default=oidc.DEFAULT_PORT,
                        help="port of the local sign-in provider (when OIDC_ISSUER is unset)")
    parser.add_argument("--pars-port", type=int, default=LOCAL_PARS_PORT,
                        help="port of the local PARS service (when PARS_API_URL is unset)")
    parser.add_argument("--mail-port", type=int, default=LOCAL_MAIL_PORT,
                        help="port of the local mail sink (when MAIL_SERVER is unset)")
    args = parser.parse_args()
    if os.environ.get("APP_ENV", "").strip().lower() == "production":
        raise SystemExit("the development server does not run with APP_ENV=production")

    overrides: dict[str, str] = {}
    local_provider = not os.environ.get("OIDC_ISSUER")
    if local_provider:
        overrides = {
            "OIDC_ISSUER": oidc.issuer(args.oidc_port),
            "OIDC_CLIENT_ID": oidc.CLIENT_ID,
            "OIDC_CLIENT_SECRET": oidc.CLIENT_SECRET,
        }
    local_pars = not os.environ.get("PARS_API_URL")
    # Answers like a live service (a few learners not matched, boards deciding on `make
    # sync`), and checks every document the engine sends against the project's schema.
    pars = FakePars(slow_seconds=0.5, validate=True, realistic=True)
    if local_pars:
        overrides.update({"PARS_API_URL": f"http://127.0.0.1:{args.pars_port}",
                          "PARS_USER": pars.user, "PARS_PASSWORD": pars.password,
                          "PARS_PROVIDER_ID": pars.provider_id})
    local_mail = not os.environ.get("MAIL_SERVER")
    if local_mail:
        overrides.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(args.mail_port)})
    if not os.environ.get("PORTAL_URL"):
        overrides["PORTAL_URL"] = f"http://{args.host}:{args.port}"
    app = create_app(overrides)
    if app.config["APP_ENV"] == "production":
        raise SystemExit("the development server does not run with APP_ENV=production")

    with ExitStack() as stack:
        if local_provider:
            try:
                stack.enter_context(oidc.serve(args.oidc_port))
            except OSError as exc:
                raise SystemExit(
                    f"cannot start the local sign-in provider on port {args.oidc_port}: {exc}. "
                    "Stop whatever uses it or run `make run OIDC_PORT=<free port>`."
                ) from exc
            print(f" * Local sign-in provider at {overrides['OIDC_ISSUER']} "
                  "(demo accounts only; see README 'Signing in')")
        if local_pars:
            try:
                pars.start(args.pars_port)
            except OSError as exc:
                raise SystemExit(
                    f"cannot start the local PARS service on port {args.pars_port}: {exc}. "
                    "Stop whatever uses it or run `make run PARS_PORT=<free port>`."
                ) from exc
            stack.callback(pars.stop)
            print(f" * Local PARS service at {pars.url} (development only): "
                  "`make transmit` sends the queued demo credit to it")
        if local_mail:
            mail_dir = INSTANCE / "mail"
            try:
                sink = MailSink(mail_dir).start(args.mail_port)
            except OSError as exc:
                raise SystemExit(
                    f"cannot start the local mail sink on port {args.mail_port}: {exc}. "
                    "Stop whatever uses it or run `make run MAIL_PORT=<free port>`."
                ) from exc
            stack.callback(sink.stop)
            print(f" * Local mail sink at 127.0.0.1:{sink.port} (development only): "
                  f"`make notify` sends e-mail notices; each message is saved in {mail_dir}/")
        app.run(host=args.host, port=args.port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
