"""Skintrack on the command line. `python cli.py --help` lists the commands.

Every command reads SKINTRACK_DATABASE_URL (default: the app's SQLite file) and brings the schema up
to date first. Exit status: 0 done; 1 refused or failed (the reason on standard error); 2 wrong usage.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
ACTOR_MAX = 64
MONTHS_DEFAULT, RESPONSE_MONTH_DEFAULT = "3,6,12,24", 12


def _cli_actor() -> str:
    """Who the audit trail names for a command: `cli:` and the operating-system account that ran it (an
    import is audited with the importing user, EXCHANGE.md); plain `cli` when the account has no name."""
    import getpass

    try:
        user = getpass.getuser().strip()
    except (KeyError, OSError, ImportError):  # no login name and no passwd entry (some containers)
        user = ""
    return f"cli:{user}"[:ACTOR_MAX] if user else "cli"  # the audit trail's actor column holds 64 characters


CLI_ACTOR = _cli_actor()


class UsageError(Exception):
    """Wrong usage of the command line (exit status 2)."""


def _engine():
    from db.engine import ensure_schema, make_engine

    engine = make_engine()
    ensure_schema(engine)
    return engine


def cmd_init_db(args) -> int:
    from db.engine import current_revision

    engine = _engine()
    print(f"database ready at revision {current_revision(engine)}: {engine.url.render_as_string(hide_password=True)}")
    return EXIT_OK


def cmd_import(args) -> int:
    from exchange import BundleRejected, import_bundle
    from exchange.errors import one_line

    bundle = Path(args.bundle)
    if not bundle.exists():
        raise UsageError(f"BUNDLE {args.bundle!r} does not exist (give a bundle folder or a .zip)")
    engine = _engine()

    def progress(done: int, total: int) -> None:
        print(f"\r  {done:,} / {total:,} rows", end="", file=sys.stderr, flush=True)

    try:
        report = import_bundle(engine, bundle, actor=CLI_ACTOR, update=args.update, dry_run=args.dry_run,
                               progress=progress if sys.stderr.isatty() else None)
    except BundleRejected as rejected:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        for line in rejected.problems.lines():  # the first 1,000 problems, then the rest counted
            print(line, file=sys.stderr)
        print(f"{one_line(bundle.name)}: {rejected.reason}", file=sys.stderr)
        return EXIT_FAILED
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print("\n".join(report.lines()))
    return EXIT_OK


def _id_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [part.strip() for part in value.split(",") if part.strip()]
    if not items:
        raise UsageError("--patients needs at least one patient_id, e.g. --patients P-001,P-002")
    return items


def _months(value: str) -> list[int]:
    try:
        months = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--months {value!r}: give whole numbers of months joined by commas, e.g. 3,6,12,24") from None
    if not months or min(months) < 1:
        raise UsageError(f"--months {value!r}: give whole numbers of months from 1, e.g. 3,6,12,24")
    return months


def cmd_export(args) -> int:
    from exchange import export_bundle

    out = Path(args.out)
    patients = _id_list(args.patients)
    if args.centre is not None and not args.centre.strip(" ,"):
        raise UsageError("--centre needs at least one centre code, e.g. --centre AMS,LYON")
    if args.format == "fhir":
        return _export_fhir(args, out, patients)
    months = _months(args.months)
    if args.format != "xlsx" and out.exists() and not out.is_dir():
        raise UsageError(f"OUT {args.out!r} is a file; with --format {args.format}, OUT is a folder")
    if args.format == "xlsx" and out.is_dir():
        raise UsageError(f"OUT {args.out!r} is a folder; with --format xlsx, OUT is the workbook's path")
    if args.response_month < 1:
        raise UsageError(f"--response-month {args.response_month}: give a whole number of months from 1, e.g. 12")
    engine = _engine()
    with _export_options_refused():
        result = export_bundle(engine, out, fmt=args.format, deidentify=args.deidentify,
                               anchor_drug=args.anchor_drug, months=months, response_month=args.response_month,
                               patients=patients, centres=args.centre, actor=CLI_ACTOR)
    print("\n".join(result.lines()))
    return EXIT_OK


@contextmanager
def _export_options_refused():
    """An export's refusal of --patients, --centre or --anchor-drug is wrong usage (exit 2), told with the option's
    name."""
    from models.errors import InvalidValue, UnknownPatient

    try:
        yield
    except UnknownPatient as error:
        raise UsageError(f"--patients: {error.reason}") from None
    except InvalidValue as error:
        option = {"centre": "--centre", "anchor_drug": "--anchor-drug"}.get(error.field)
        if option is None:
            raise
        raise UsageError(f"{option}: {error.reason}") from None


def _export_fhir(args, out: Path, patients: list[str] | None) -> int:
    """`export --format fhir OUT`: the FHIR Bulk Data NDJSON files (one per resource type) into the folder OUT,
    identified unless --deidentify (as every other format), audited as one export row (docs/FHIR.md)."""
    from exchange.fhir import export_fhir_bulk

    if out.exists() and not out.is_dir():
        raise UsageError(f"OUT {args.out!r} is a file; with --format fhir, OUT is a folder")
    ignored = [name for name, given in (("--anchor-drug", args.anchor_drug is not None),
                                        ("--months", args.months != MONTHS_DEFAULT),
                                        ("--response-month", args.response_month != RESPONSE_MONTH_DEFAULT)) if given]
    if ignored:
        raise UsageError(f"{', '.join(ignored)}: only for the bundle and statistical formats, not --format fhir")
    engine = _engine()
    with _export_options_refused():
        result = export_fhir_bulk(engine, out, deidentify=args.deidentify, patients=patients, centres=args.centre,
                                  actor=CLI_ACTOR)
    print("\n".join(result.lines()))
    return EXIT_OK


def cmd_demo(args) -> int:
    from db.patients import count_patients
    from demo import generate_registry, load_registry

    if args.patients < 1:
        raise UsageError("--patients must be at least 1")
    engine = _engine()
    if count_patients(engine) and not args.force:
        print("the database already holds patients; pass --force to add the demo registry anyway "
              "(demo identifiers that exist already are refused)", file=sys.stderr)
        return EXIT_FAILED
    registry = generate_registry(args.patients, seed=args.seed)

    def progress(done: int, total: int) -> None:
        print(f"\r  {done:,} / {total:,} records", end="", file=sys.stderr, flush=True)

    counts = load_registry(engine, registry, actor=CLI_ACTOR, progress=progress)
    print(file=sys.stderr)
    print("demo registry loaded: " + ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in counts.items()))
    return EXIT_OK


def cmd_backup(args) -> int:
    from db.backup import backup_database

    out = backup_database(_engine(), Path(args.out), actor=CLI_ACTOR)
    print(f"backup written to {out}")
    return EXIT_OK


def read_password(stream=None) -> str:
    """The new account's password from standard input: prompted twice on a terminal, else the first line
    (so scripts and containers can pipe it). Never from argv, where other users of the machine see it."""
    import getpass

    stream = stream or sys.stdin
    if stream.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise UsageError("the two passwords differ")
        return password
    password = stream.readline().rstrip("\r\n")
    if not password:
        raise UsageError("no password on standard input; pipe it in, e.g. `printf '%s\\n' \"$PASSWORD\" | "
                         "python cli.py create-user NAME --role staff`")
    return password


def cmd_create_user(args) -> int:
    from db.engine import write_session
    from db.users import create_user

    password = read_password()
    engine = _engine()
    with write_session(engine) as session:
        user = create_user(session=session, actor=CLI_ACTOR, data={
            "username": args.username, "display_name": args.display_name or "", "role": args.role,
            "password": password, "can_export_identified": args.identified_export})
        summary = f"account {user.username!r} created with role {user.role}"
        if user.can_export_identified:
            summary += ", may export identified data"
    print(summary)
    return EXIT_OK


def cmd_token(args) -> int:
    """`token create|list|revoke`: personal API tokens of an account (README, "The API")."""
    from db.api_tokens import create_token, load_tokens, revoke_token
    from db.engine import write_session
    from db.users import get_user

    engine = _engine()
    if get_user(engine, args.user) is None:
        raise UsageError(f"--user {args.user!r}: no such account")
    if args.token_command == "create":
        with write_session(engine) as session:
            created = create_token(session=session, username=args.user, name=args.name, days=args.days,
                                   actor=CLI_ACTOR)
        print(created.token)  # alone on standard output, so `TOKEN=$(python cli.py token create ...)` works
        print(f"token {created.token_id} {created.name!r} of {args.user}, valid until "
              f"{created.expires_at:%Y-%m-%d %H:%M} UTC: shown once, keep it in a secret store", file=sys.stderr)
    elif args.token_command == "revoke":
        with write_session(engine) as session:
            revoke_token(session=session, username=args.user, token_id=args.id, actor=CLI_ACTOR)
        print(f"token {args.id} of {args.user} revoked")
    else:
        tokens = load_tokens(engine, args.user)
        for row in tokens.itertuples():
            used = "never used" if row.last_used_at is None or str(row.last_used_at) == "NaT" else \
                f"last used {row.last_used_at:%Y-%m-%d %H:%M}"
            print(f"{row.token_id}\t{row.name}\t{row.status}\texpires {row.expires_at:%Y-%m-%d}\t{used}")
    return EXIT_OK


def cmd_centre(args) -> int:
    """`centre add|list|deactivate`: the registry's centres (README, "Centres"); audited as the command line."""
    from db.centres import add_centre, deactivate_centre, load_centres
    from db.engine import write_session

    engine = _engine()
    if args.centre_command == "add":
        with write_session(engine) as session:
            centre = add_centre(session=session, data={"code": args.code, "name": args.name,
                                                       "country": args.country}, actor=CLI_ACTOR)
            added = f"centre {centre.code} added: {centre.name}" + (f" ({centre.country})" if centre.country else "")
        print(added)
    elif args.centre_command == "deactivate":
        with write_session(engine) as session:
            code = deactivate_centre(session=session, code=args.code, actor=CLI_ACTOR).code
        print(f"centre {code} is inactive: no new patient joins it (its patients stay)")
    else:
        for row in load_centres(engine, visible_only=False).itertuples():
            status = "active" if row.active else "inactive"
            patients = f"{row.patients} patient" + ("" if row.patients == 1 else "s")
            print(f"{row.code}\t{row.name}\t{row.country}\t{status}\t{patients}")
    return EXIT_OK


def cmd_transfer(args) -> int:
    """`transfer PATIENT_ID CENTRE --reason R`: move a patient to another centre, audited with the reason."""
    from db.centres import transfer_patient
    from db.engine import write_session
    from db.patients import get_patient
    from models.errors import NotFound

    engine = _engine()
    patient = get_patient(engine, args.patient_id)
    if patient is None:
        raise NotFound(f"no patient {args.patient_id!r}", field="patient_id")
    with write_session(engine) as session:
        transfer_patient(session=session, patient_id=args.patient_id, centre=args.centre,
                         expected_version=int(patient["version"]), actor=CLI_ACTOR, reason=args.reason)
    print(f"patient {args.patient_id} transferred to centre {args.centre}")
    return EXIT_OK


def _positive_days(value: str) -> int:
    from db.api_tokens import MAX_DAYS

    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{days}: give 1 to {MAX_DAYS} days")
    return days


def cmd_serve_api(args) -> int:
    """`serve-api`: the REST and FHIR API (api/), uvicorn on HOST:PORT, on the configured database."""
    import uvicorn

    from api.app import create_app

    engine = _engine()
    print(f"Skintrack API on http://{args.host}:{args.port} (OpenAPI at /docs), database "
          f"{engine.url.render_as_string(hide_password=True)}", file=sys.stderr)
    uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level=args.log_level,
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips)
    return EXIT_OK


def cmd_grant_app_role(args) -> int:
    """PostgreSQL: give the app's role its rights (db/installation.grant_app_role), connected as the owner."""
    import os

    from db.engine import MIGRATION_URL_VARIABLE, ensure_schema, make_engine
    from db.installation import grant_app_role

    engine = make_engine(os.environ.get(MIGRATION_URL_VARIABLE, "").strip() or None)
    try:
        ensure_schema(engine)
        for statement in grant_app_role(engine, args.role):
            print(statement)
    finally:
        engine.dispose()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python cli.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init_db = commands.add_parser("init-db", help="create or upgrade the database schema")
    init_db.set_defaults(handler=cmd_init_db)

    demo = commands.add_parser("demo", help="load the deterministic demo registry")
    demo.add_argument("--patients", type=int, default=60, help="how many patients (default 60)")
    demo.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    demo.add_argument("--force", action="store_true", help="load even when the database holds patients")
    demo.set_defaults(handler=cmd_demo)

    backup = commands.add_parser("backup", help="write a consistent copy of the database to OUT")
    backup.add_argument("out", help="the backup file (SQLite: a database file; PostgreSQL: a pg_dump archive)")
    backup.set_defaults(handler=cmd_backup)

    bundle_import = commands.add_parser(
        "import", help="import a bundle (folder or .zip) of CSV files, all or nothing",
        description="Import a bundle (EXCHANGE.md). Exit status 0 done, 1 rejected (every problem on standard "
                    "error as file:line: column: reason; nothing written), 2 wrong usage.")
    bundle_import.add_argument("bundle", metavar="BUNDLE", help="a bundle folder or a .zip of one")
    bundle_import.add_argument("--update", action="store_true",
                               help="write (audited) changes to records whose key exists with other values")
    bundle_import.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    bundle_import.set_defaults(handler=cmd_import)

    export = commands.add_parser(
        "export", help="export the registry as a bundle plus derived files (CSV folder or XLSX workbook)",
        description="Export the five bundle files and the derived visits, summary, windows, window_values, response, "
                    "activity and dictionary (EXCHANGE.md, ENDPOINTS.md); or, with --format fhir, the FHIR R4 "
                    "bulk export as NDJSON files (docs/FHIR.md).")
    export.add_argument("out", metavar="OUT", help="a folder (created if missing) or, with --format xlsx, the "
                                                   "workbook's path")
    export.add_argument("--format", choices=["csv", "xlsx", "sas", "spss", "stata", "parquet", "fhir"], default="csv",
                        help="csv (default), xlsx, a folder of datasets for sas (.xpt), spss, stata or parquet, or "
                             "fhir: a folder of FHIR R4 NDJSON files, one per resource type (docs/FHIR.md)")
    export.add_argument("--deidentify", action="store_true",
                        help="pseudonyms, shifted dates, no names/MRNs/notes/descriptions, raters renamed")
    export.add_argument("--anchor-drug", metavar="DRUG", default=None,
                        help="baseline = latest visit up to 90 days before DRUG's first start (name as stored)")
    export.add_argument("--months", default=MONTHS_DEFAULT, help="visit windows in months (default 3,6,12,24)")
    export.add_argument("--response-month", metavar="M", type=int, default=RESPONSE_MONTH_DEFAULT,
                        help="follow-up month of response.csv (ACR CRISS, revised CRISS; default 12)")
    export.add_argument("--patients", metavar="ID,...", default=None, help="only these patient_ids")
    export.add_argument("--centre", metavar="CODE,...", default=None,
                        help="only the patients of these centres (codes); every file names each patient's centre")
    export.set_defaults(handler=cmd_export)

    from models.catalog import ROLES

    create = commands.add_parser("create-user", help="add an account; the password is read from standard input",
                                 description="Add an account. The password is read from standard input "
                                             "(prompted twice on a terminal), never from the command line.")
    create.add_argument("username", help="2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    create.add_argument("--role", required=True, choices=list(ROLES), help="what the account may open")
    create.add_argument("--display-name", default="", help="name shown in the app and used as default rater")
    create.add_argument("--identified-export", action="store_true",
                        help="allow this account to export identified data (coordinators and administrators)")
    create.set_defaults(handler=cmd_create_user)

    token = commands.add_parser("token", help="create, list or revoke an account's personal API tokens")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    token_create = token_commands.add_parser("create", help="a new token, printed once on standard output")
    token_create.add_argument("--user", required=True, help="the account the token acts as")
    token_create.add_argument("--name", required=True, help="what uses it, e.g. 'nightly R pull' (1-40 characters)")
    token_create.add_argument("--days", type=_positive_days, default=90, help="valid for D days (default 90)")
    token_list = token_commands.add_parser("list", help="the account's tokens: id, name, status, expiry, last use")
    token_list.add_argument("--user", required=True)
    token_revoke = token_commands.add_parser("revoke", help="revoke a token (it opens nothing from now on)")
    token_revoke.add_argument("--user", required=True)
    token_revoke.add_argument("--id", type=int, required=True, help="the token's number (token list)")
    token.set_defaults(handler=cmd_token)

    from models.centre import CENTRE_CODE_RULE

    centre = commands.add_parser("centre", help="add, list or deactivate the registry's centres")
    centre_commands = centre.add_subparsers(dest="centre_command", metavar="ACTION", required=True)
    centre_add = centre_commands.add_parser("add", help="a new, active centre")
    centre_add.add_argument("code", metavar="CODE", help=f"{CENTRE_CODE_RULE}; permanent (exports carry it)")
    centre_add.add_argument("--name", required=True, help="the centre's name, e.g. 'Amsterdam UMC'")
    centre_add.add_argument("--country", default="", help="its country, e.g. NL")
    centre_commands.add_parser("list", help="every centre: code, name, country, status, live patients")
    centre_deactivate = centre_commands.add_parser(
        "deactivate", help="no new patient joins the centre; its patients and their data stay")
    centre_deactivate.add_argument("code", metavar="CODE")
    centre.set_defaults(handler=cmd_centre)

    transfer = commands.add_parser("transfer", help="move a patient to another centre (audited, with a reason)")
    transfer.add_argument("patient_id", metavar="PATIENT_ID")
    transfer.add_argument("centre", metavar="CENTRE", help="the code of the centre the patient moves to")
    transfer.add_argument("--reason", required=True, help="why the patient moves (kept in the audit trail)")
    transfer.set_defaults(handler=cmd_transfer)

    serve = commands.add_parser("serve-api", help="run the REST and FHIR API (README, \"The API\")")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8502, help="port (default 8502)")
    serve.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                       help="proxies whose X-Forwarded-For names the client (rate limits are per client address)")
    serve.set_defaults(handler=cmd_serve_api)

    database = commands.add_parser("db", help="database administration (PostgreSQL roles)")
    database_commands = database.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    grant = database_commands.add_parser(
        "grant-app-role", help="PostgreSQL: let ROLE run the app (no UPDATE/DELETE/TRUNCATE of the audit trail)",
        description="Run as the owner of the tables (SKINTRACK_MIGRATION_DATABASE_URL, else SKINTRACK_DATABASE_URL): "
                    "grants ROLE what the app needs, and only SELECT and INSERT on the audit trail.")
    grant.add_argument("role", metavar="ROLE", help="an existing PostgreSQL role that does not own the tables")
    grant.set_defaults(handler=cmd_grant_app_role)
    return parser


def main(argv: list[str] | None = None) -> int:
    from models.errors import SkintrackError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code in (0, None) else EXIT_USAGE
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"usage error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SkintrackError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_FAILED


def run() -> int:
    """main() as a program: a reader of standard output that went away early (`python cli.py export OUT | head`)
    ends the program quietly with status 1, as Python's documentation advises, instead of a BrokenPipeError
    traceback; what the command did is done (an export is complete before its summary is printed)."""
    import os

    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at the exit's flush
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(run())
